"""GNU ld scripts of the kind a `libc.so` is: GROUP, INPUT, AS_NEEDED, and harmless
headers (OUTPUT_FORMAT, OUTPUT_ARCH, SEARCH_DIR is honoured by GNU ld but glibc's scripts
never need it).  Anything that would change the output layout (SECTIONS, MEMORY, ...) is
refused by name rather than half-understood.

    /* GNU ld script */
    OUTPUT_FORMAT(elf64-x86-64)
    GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a
            AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )
"""

from __future__ import annotations

import re

from ..errors import LinkError
from ..records import dataclass

_TOKEN = re.compile(r'\s*(?:(/\*.*?\*/)|([(),])|"([^"]*)"|([^\s(),]+))', re.DOTALL)
_IGNORED = {"OUTPUT_FORMAT", "OUTPUT_ARCH", "TARGET", "SEARCH_DIR", "VERSION"}
_INPUTS = {"GROUP", "INPUT"}
_KNOWN_WORDS = _IGNORED | _INPUTS | {"AS_NEEDED", "SECTIONS", "MEMORY", "ENTRY", "PHDRS"}


@dataclass(frozen=True, slots=True)
class ScriptInput:
    name: str  # a path, or "-lNAME"
    as_needed: bool
    in_group: bool


def looks_like_script(data: bytes) -> bool:
    head = data[:4096]
    if b"\0" in head:
        return False
    text = head.decode("utf-8", "replace")
    return _ANY_KNOWN_WORD.search(text) is not None


# One pattern for all the words: a pattern per word was a dozen regex compilations in every
# link that reads libc.so (a millisecond or two of a small link).
_ANY_KNOWN_WORD = re.compile(rf"\b(?:{'|'.join(sorted(_KNOWN_WORDS))})\b")


def _tokens(text: str, path: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise LinkError(f"cannot parse linker script near {text[pos:pos + 20]!r}",
                            file=path, offset=pos)
        pos = m.end()
        if m.group(2):
            tokens.append(m.group(2))
        elif m.group(3) is not None:
            tokens.append(m.group(3))  # a quoted file name: GNU ld takes it as written
        elif m.group(4):
            tokens.append(m.group(4))
    return tokens


def parse_script(text: str, path: str) -> list[ScriptInput]:
    tokens = _tokens(text, path)
    items: list[ScriptInput] = []
    i = 0

    def expect(tok: str) -> None:
        nonlocal i
        if i >= len(tokens) or tokens[i] != tok:
            got = tokens[i] if i < len(tokens) else "end of file"
            raise LinkError(f"linker script: expected {tok!r}, found {got!r}", file=path)
        i += 1

    def inputs(in_group: bool, as_needed: bool) -> None:
        nonlocal i
        expect("(")
        depth = 1  # AS_NEEDED ( AS_NEEDED ( ... ) ): its lists, walked without recursion
        while i < len(tokens) and depth:
            tok = tokens[i]
            i += 1
            if tok == ")":
                depth -= 1
            elif tok == "AS_NEEDED":
                expect("(")
                depth += 1
            elif tok != ",":
                items.append(ScriptInput(tok, as_needed or depth > 1, in_group))
        if depth:
            expect(")")

    while i < len(tokens):
        word = tokens[i]
        i += 1
        if word in _INPUTS:
            inputs(word == "GROUP", False)
        elif word in _IGNORED:
            expect("(")
            depth = 1
            while i < len(tokens) and depth:
                depth += {"(": 1, ")": -1}.get(tokens[i], 0)
                i += 1
        elif word == ";":
            continue
        else:
            raise LinkError(f"linker script command {word!r} is not supported (only GROUP, "
                            "INPUT, AS_NEEDED and OUTPUT_FORMAT)", file=path)
    return items
