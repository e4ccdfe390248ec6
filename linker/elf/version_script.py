"""GNU ld version scripts (`--version-script`): which symbols a shared object exports, and
under which version node.

    VERS_1 { global: foo; bar_*; local: *; };
    VERS_2 { global: baz; } VERS_1;      # VERS_2 depends on (inherits from) VERS_1
    { global: api_*; local: *; };        # an anonymous node: no versions, only scoping

A name matches a node's pattern list in GNU ld's order of precedence: an exact name (or a
quoted string, never a glob) first, the first node naming it winning; then a glob other
than a bare `*`, then `*`, where a global match beats a local one and among several the
*last* node wins (bfd_find_version_for_sym); `\\c` in a glob is the character c.  A symbol no pattern
matches keeps its default (exported, base version).  `extern "C"` blocks hold plain names;
`extern "C++"` needs demangling and is refused.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence

from ..errors import LinkError
from ..input_file import read_input_text
from ..records import dataclass, field


@dataclass
class VersionNode:
    name: str  # "" for the anonymous node
    globals_: list[str] = field(default_factory=list)
    locals_: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    exact: set[str] = field(default_factory=set)  # quoted patterns: never globs


@dataclass(frozen=True)
class Scope:
    """What a version script says about one symbol."""

    local: bool
    version: str | None  # node name, None for the anonymous node or no match


@dataclass
class VersionScript:
    nodes: list[VersionNode]
    path: str = "<version script>"

    @property
    def versions(self) -> list[VersionNode]:
        """The named nodes, in script order (their .gnu.version_d indices follow it)."""
        return [n for n in self.nodes if n.name]

    def scope(self, name: str) -> Scope | None:
        """The node and list (`global`/`local`) naming `name`, or None when none does."""
        for node in self.nodes:  # an exact name: the first node naming it
            for local, patterns in ((False, node.globals_), (True, node.locals_)):
                if any(_exact(p, name, node) for p in patterns):
                    return Scope(local, node.name or None)
        for rank in (_glob, _star):
            # GNU ld (bfd_find_version_for_sym): among wildcard matches the *last* node
            # wins, and a global match beats a local one wherever it is
            for local in (False, True):
                last = None
                for node in self.nodes:
                    patterns = node.locals_ if local else node.globals_
                    if any(rank(p, name, node) for p in patterns):
                        last = node
                if last is not None:
                    return Scope(local, last.name or None)
        return None


def _exact(pattern: str, name: str, node: VersionNode) -> bool:
    if pattern in node.exact:
        return pattern == name
    return not _is_glob(pattern) and (
        pattern == name or ("\\" in pattern and re.sub(r"\\(.)", r"\1", pattern) == name))


def _glob(pattern: str, name: str, node: VersionNode) -> bool:
    return (pattern != "*" and pattern not in node.exact and _is_glob(pattern)
            and fnmatch.fnmatchcase(name, _fnmatch_pattern(pattern)))


def _fnmatch_pattern(pattern: str) -> str:
    """A glob in fnmatch's terms: GNU ld's fnmatch takes `\\c` as the character c itself
    (`foo\\?` names `foo?`); fnmatch spells a literal metacharacter `[c]`."""
    if "\\" not in pattern:
        return pattern
    return re.sub(r"\\(.)", lambda m: f"[{m.group(1)}]" if m.group(1) in "*?[]"
                  else m.group(1), pattern)


def _star(pattern: str, name: str, node: VersionNode) -> bool:
    return pattern == "*" and pattern not in node.exact


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


_TOKEN = re.compile(r'\s+|#[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|[{};:]|[^\s{};:"]+', re.DOTALL)


def _tokens(text: str, path: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise LinkError(f"{path}: version script: unexpected character {text[pos]!r} "
                            f"at offset {pos}")
        tok = m.group(0)
        pos = m.end()
        if tok.strip() and not tok.startswith(("#", "/*")):
            out.append(tok)
    return out


def parse_version_script(text: str, path: str = "<version script>") -> VersionScript:
    toks = _tokens(text, path)
    nodes: list[VersionNode] = []
    i = 0
    wrapped = False

    def expect(tok: str) -> None:
        nonlocal i
        if i >= len(toks) or toks[i] != tok:
            found = toks[i] if i < len(toks) else "end of file"
            raise LinkError(f"{path}: version script: expected {tok!r}, found {found!r}")
        i += 1

    while i < len(toks):
        ahead = toks[i + 1:i + 4]
        if toks[i] == "VERSION" and ahead[:1] == ["{"] and (ahead[1:2] == ["{"]
                                                          or ahead[2:3] == ["{"]):
            # a linker script's VERSION { NODE { ... }; } wrapper (else a node named VERSION)
            i += 1
            expect("{")
            wrapped = True
            continue
        if toks[i] == "}":
            if not wrapped:
                raise LinkError(f"{path}: version script: unbalanced '}}'")
            wrapped = False
            i += 1
            continue
        name = ""
        if toks[i] != "{":
            name = toks[i]
            i += 1
        node = VersionNode(name)
        expect("{")
        i = _node_body(toks, i, node, path)
        expect("}")
        while i < len(toks) and toks[i] != ";":
            node.parents.append(toks[i])
            i += 1
        expect(";")
        nodes.append(node)
    if any(not n.name for n in nodes) and len(nodes) > 1:
        raise LinkError(f"{path}: version script: an anonymous version node must be the "
                        "only one")
    names = [n.name for n in nodes if n.name]
    for node in nodes:
        for parent in node.parents:
            if parent not in names:
                raise LinkError(f"{path}: version script: node {node.name} depends on "
                                f"undefined version {parent}")
    if len(set(names)) != len(names):
        raise LinkError(f"{path}: version script: a version node is defined twice")
    return VersionScript(nodes, path)


MAX_EXTERN_DEPTH = 64  # extern blocks inside extern blocks: GNU ld's grammar allows them


def _node_body(toks: list[str], i: int, node: VersionNode, path: str, depth: int = 0) -> int:
    if depth > MAX_EXTERN_DEPTH:
        raise LinkError(f"{path}: version script: extern blocks nested more than "
                        f"{MAX_EXTERN_DEPTH} deep")
    local = False
    while i < len(toks) and toks[i] != "}":
        tok = toks[i]
        if tok in ("global", "local") and i + 1 < len(toks) and toks[i + 1] == ":":
            local = tok == "local"
            i += 2
            continue
        if tok == "extern":
            lang = toks[i + 1].strip('"') if i + 1 < len(toks) else ""
            if lang != "C":
                raise LinkError(f"{path}: version script: extern \"{lang}\" patterns are not "
                                "supported (only extern \"C\")")
            i += 2
            if i >= len(toks) or toks[i] != "{":
                raise LinkError(f"{path}: version script: expected '{{' after extern")
            i = _node_body(toks, i + 1, node, path, depth + 1)
            if i >= len(toks) or toks[i] != "}":
                raise LinkError(f"{path}: version script: unterminated extern block")
            i += 1
            if i < len(toks) and toks[i] == ";":
                i += 1
            continue
        if tok in ("{", ":"):
            raise LinkError(f"{path}: version script: unexpected {tok!r} in node "
                            f"{node.name or '(anonymous)'}")
        pattern = tok
        if tok.startswith('"'):
            pattern = tok[1:-1]
            node.exact.add(pattern)
        (node.locals_ if local else node.globals_).append(pattern)
        i += 1
        if i < len(toks) and toks[i] == ";":
            i += 1
        elif i < len(toks) and toks[i] != "}":
            raise LinkError(f"{path}: version script: expected ';' after {tok}")
    return i


def read_version_scripts(paths: list[str],
                         search: Sequence[str] = ()) -> VersionScript | None:
    """All --version-script files, as one script (GNU ld concatenates them).  A relative
    name that is not there is looked for in the -L directories, as GNU ld does."""
    if not paths:
        return None
    nodes: list[VersionNode] = []
    for path in paths:
        if not os.path.isabs(path) and not os.path.exists(path):
            path = next((os.path.join(d, path) for d in search
                         if os.path.isfile(os.path.join(d, path))), path)
        try:
            text = read_input_text(path)
        except OSError as e:
            raise LinkError(f"cannot read version script {path}: {e.strerror}") from None
        nodes += parse_version_script(text, path).nodes
    if any(not n.name for n in nodes) and len(nodes) > 1:
        raise LinkError(f"{paths[0]}: version script: an anonymous version node must be the "
                        "only one")
    return VersionScript(nodes, paths[0])
