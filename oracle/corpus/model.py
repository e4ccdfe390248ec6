"""The regression corpus's records: a case, its link arguments and its expectation.

A case is data only: a directory holding input objects and a `case.json` that these records
are read from and written to.  Parsing is strict (unknown keys and wrong types are refused
with the key's name), because a typo in a hand-written case would otherwise silently weaken
what it checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .known import KnownFormatError, reason_version

CASE_FILE = "case.json"
TARGETS = ("elf64-x86-64", "elf32-i386", "macho-x86_64", "macho-i386")
BIND_MODES = ("lazy", "now")
# --hash-style values a case may ask for (None: each linker's own default).
HASH_STYLES = ("sysv", "gnu", "both")
# Every linker a case can be replayed with (oracle.corpus.toolchain runs them), and so the
# names a case's `known` disagreements may use.
LINKER_NAMES = ("linkharness", "bfd", "gold", "lld", "mold", "ld64.lld")
# The program interpreter each target's executables name when none is given.
DEFAULT_INTERPRETERS = {
    "elf64-x86-64": "/lib64/ld-linux-x86-64.so.2",
    "elf32-i386": "/lib/ld-linux.so.2",
}


class CaseFormatError(ValueError):
    """A case.json (or arguments to add_case) that does not follow the corpus format."""


@dataclass(frozen=True)
class TraceCall:
    """One expected call into a shared library, as the emulator records it."""

    library: str
    symbol: str
    args: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"library": self.library, "symbol": self.symbol, "args": list(self.args)}


@dataclass(frozen=True)
class LinkArgs:
    """How to link a case's inputs.

    libs: `-lNAME` items or file names, searched in the case directory and then in the
    system library directory; they go after the inputs, as gcc's driver places them.
    crt: put the system's crt1.o and crti.o before the inputs and crtn.o after the libs,
    so a case built from C with a `main` needs no committed start files.
    dynamic_linker: None means the target's usual one (DEFAULT_INTERPRETERS).
    pie, hash_style, ibt_plt, emit_relocs: the output options a fuzz property drew (-pie,
    --hash-style=, -z ibtplt, --emit-relocs), so a kept failure replays with the option
    that exposed it.  Optional in case.json; the defaults are what a case without them
    always meant (hash_style None: no --hash-style flag, each linker's own default).
    """

    entry: str | None = "_start"
    libs: tuple[str, ...] = ()
    crt: bool = False
    bind_now: bool = False
    dynamic_linker: str | None = None
    pie: bool = False
    hash_style: str | None = None
    ibt_plt: bool = False
    emit_relocs: bool = False

    def interpreter(self, target: str) -> str:
        return self.dynamic_linker or DEFAULT_INTERPRETERS.get(target, "")

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "libs": list(self.libs),
            "crt": self.crt,
            "bind_now": self.bind_now,
            "dynamic_linker": self.dynamic_linker,
            # Written only when set, so a case saved without them reads back byte-identical.
            **self.output_options(),
        }

    def output_options(self) -> dict[str, Any]:
        """The output options that differ from their defaults, by case.json key."""
        chosen = {"pie": self.pie, "hash_style": self.hash_style, "ibt_plt": self.ibt_plt,
                  "emit_relocs": self.emit_relocs}
        return {key: value for key, value in chosen.items() if value}


@dataclass(frozen=True)
class Expect:
    """What a correct link does.  With link_error set, the link must fail (the regex is
    matched against linkharness's LinkError message) and nothing else is checked.
    trace None means "not checked" (native runs cannot observe one)."""

    exit_code: int | None = 0
    stdout: str = ""
    trace: tuple[TraceCall, ...] | None = None
    link_error: str | None = None

    @property
    def is_error_case(self) -> bool:
        return self.link_error is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "trace": None if self.trace is None else [t.to_json() for t in self.trace],
            "link_error": self.link_error,
        }


@dataclass(frozen=True)
class Case:
    """One loaded case: `directory` is where its inputs live; `inputs` are relative to it.
    `sources` name the text the inputs were made from (.s, .c): documentation for a reader
    of the case, never used to replay it."""

    id: str
    directory: Path
    target: str
    inputs: tuple[str, ...]
    link_args: LinkArgs
    expect: Expect
    origin: str
    caught: str
    bind: tuple[str, ...] = BIND_MODES
    sources: tuple[str, ...] = field(default=())
    # linker name -> "VERSION why it differs" (oracle.corpus.known): a recorded disagreement
    known: Mapping[str, str] = field(default_factory=dict)

    def input_paths(self) -> list[Path]:
        return [self.directory / name for name in self.inputs]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "target": self.target,
            "inputs": list(self.inputs),
            "link_args": self.link_args.to_json(),
            "expect": self.expect.to_json(),
            "origin": self.origin,
            "caught": self.caught,
            "bind": list(self.bind),
        }
        if self.sources:
            data["sources"] = list(self.sources)
        if self.known:
            data["known"] = dict(sorted(self.known.items()))
        return data


# ---------------------------------------------------------------------------------------
# Parsing: every key is checked, so a case.json error names the key that is wrong.

def _take(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str,
          default: Any = ..., nullable: bool = False) -> Any:
    if key not in data:
        if default is ...:
            raise CaseFormatError(f"{where}: missing key {key!r}")
        return default
    value = data[key]
    if value is None and nullable:
        return None
    # bool is an int in Python; an exit code of `true` is a mistake, not 1.
    if isinstance(value, bool) and kind is int or not isinstance(value, kind):
        raise CaseFormatError(f"{where}: {key!r} must be {_kind_name(kind)}, not {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _no_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise CaseFormatError(f"{where}: unknown key(s) {', '.join(map(repr, extra))}")


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise CaseFormatError(f"{where}: {key!r} must be a list of strings")
    return tuple(value)


def parse_link_args(data: Any, where: str = "link_args") -> LinkArgs:
    if isinstance(data, LinkArgs):
        return data
    if not isinstance(data, Mapping):
        raise CaseFormatError(f"{where}: must be an object")
    _no_unknown(data, {"entry", "libs", "crt", "bind_now", "dynamic_linker", "pie",
                       "hash_style", "ibt_plt", "emit_relocs"}, where)
    hash_style = _take(data, "hash_style", str, where, None, nullable=True)
    if hash_style is not None and hash_style not in HASH_STYLES:
        raise CaseFormatError(f"{where}: 'hash_style' must be one of {HASH_STYLES} or null, "
                              f"not {hash_style!r}")
    return LinkArgs(
        entry=_take(data, "entry", str, where, LinkArgs.entry, nullable=True),
        libs=_strings(data.get("libs", []), "libs", where),
        crt=_take(data, "crt", bool, where, False),
        bind_now=_take(data, "bind_now", bool, where, False),
        dynamic_linker=_take(data, "dynamic_linker", str, where, None, nullable=True),
        pie=_take(data, "pie", bool, where, False),
        hash_style=hash_style,
        ibt_plt=_take(data, "ibt_plt", bool, where, False),
        emit_relocs=_take(data, "emit_relocs", bool, where, False),
    )


def _parse_trace(value: Any, where: str) -> tuple[TraceCall, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise CaseFormatError(f"{where}: 'trace' must be a list or null")
    calls = []
    for i, item in enumerate(value):
        if isinstance(item, TraceCall):
            calls.append(item)
            continue
        if all(hasattr(item, a) for a in ("library", "symbol", "args")):
            item = {"library": item.library, "symbol": item.symbol, "args": list(item.args)}
        at = f"{where}.trace[{i}]"
        if not isinstance(item, Mapping):
            raise CaseFormatError(f"{at}: must be an object")
        _no_unknown(item, {"library", "symbol", "args"}, at)
        args = _take(item, "args", (list, tuple), at)
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            raise CaseFormatError(f"{at}: 'args' must be a list of integers")
        calls.append(TraceCall(_take(item, "library", str, at), _take(item, "symbol", str, at),
                               tuple(args)))
    return tuple(calls)


def parse_expect(data: Any, where: str = "expect") -> Expect:
    """Also accepts what a run hands back: stdout as bytes, trace entries as objects with
    library/symbol/args (oracle.emulate's TraceEntry), so a fuzzer can pass them as is."""
    if isinstance(data, Expect):
        return data
    if not isinstance(data, Mapping):
        raise CaseFormatError(f"{where}: must be an object")
    _no_unknown(data, {"exit_code", "stdout", "trace", "link_error"}, where)
    if isinstance(data.get("stdout"), bytes):  # what a run returns; stored as text
        data = {**data, "stdout": data["stdout"].decode("utf-8")}
    link_error = _take(data, "link_error", str, where, None, nullable=True)
    if link_error is not None:
        try:
            re.compile(link_error)
        except re.error as e:
            raise CaseFormatError(f"{where}: 'link_error' is not a regex: {e}") from None
    exit_code = _take(data, "exit_code", int, where, None if link_error else 0, nullable=True)
    if exit_code is not None and not 0 <= exit_code <= 255:
        raise CaseFormatError(f"{where}: 'exit_code' must be in 0..255, not {exit_code}")
    if link_error is None and exit_code is None:
        raise CaseFormatError(f"{where}: a case that links must expect an exit_code")
    return Expect(
        exit_code=exit_code,
        stdout=_take(data, "stdout", str, where, ""),
        trace=_parse_trace(data.get("trace"), where),
        link_error=link_error,
    )


def parse_bind(value: Any, where: str) -> tuple[str, ...]:
    modes = _strings(value, "bind", where)
    bad = [m for m in modes if m not in BIND_MODES]
    if bad or not modes:
        raise CaseFormatError(f"{where}: 'bind' must be a non-empty subset of {BIND_MODES}")
    return modes


CASE_KEYS = {"id", "target", "inputs", "link_args", "expect", "origin", "caught", "bind",
             "sources", "known"}
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_case_id(case_id: str) -> str:
    """Case ids are directory names: letters, digits, '.', '_' and '-' only."""
    if not _CASE_ID.match(case_id):
        raise CaseFormatError(f"case id {case_id!r}: use letters, digits, '.', '_', '-' only")
    return case_id


def parse_known(value: Any, where: str) -> dict[str, str]:
    """`known`: linker name -> one line starting with the version it was confirmed on."""
    if not isinstance(value, Mapping):
        raise CaseFormatError(f"{where}: 'known' must be an object (linker -> reason)")
    out: dict[str, str] = {}
    for name, reason in value.items():
        if name not in LINKER_NAMES:
            raise CaseFormatError(f"{where}: known: unknown linker {name!r} "
                                  f"(choose from {', '.join(LINKER_NAMES)})")
        if not isinstance(reason, str) or "\n" in reason:
            raise CaseFormatError(f"{where}: known[{name!r}] must be one line of text")
        try:
            reason_version(reason)
        except KnownFormatError as e:
            raise CaseFormatError(f"{where}: known[{name!r}]: {e}") from None
        out[name] = reason
    return out


def parse_case(data: Any, directory: Path) -> Case:
    where = str(directory / CASE_FILE)
    if not isinstance(data, Mapping):
        raise CaseFormatError(f"{where}: must hold a JSON object")
    _no_unknown(data, CASE_KEYS, where)
    target = _take(data, "target", str, where)
    if target not in TARGETS:
        raise CaseFormatError(f"{where}: unknown target {target!r}")
    inputs = _strings(_take(data, "inputs", list, where), "inputs", where)
    for name in inputs:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise CaseFormatError(f"{where}: input {name!r} must be a path inside the case")
    return Case(
        id=check_case_id(_take(data, "id", str, where)),
        directory=directory,
        target=target,
        inputs=inputs,
        link_args=parse_link_args(_take(data, "link_args", dict, where), f"{where}: link_args"),
        expect=parse_expect(_take(data, "expect", dict, where), f"{where}: expect"),
        origin=_take(data, "origin", str, where),
        caught=_take(data, "caught", str, where),
        bind=parse_bind(data.get("bind", list(BIND_MODES)), where),
        sources=_strings(data.get("sources", []), "sources", where),
        known=parse_known(data.get("known", {}), where),
    )


def normalize_objects(objects: Sequence[Any] | Mapping[str, bytes]) -> list[tuple[str, Any]]:
    """(file name in the case, path or bytes) pairs, in link order."""
    if isinstance(objects, Mapping):
        return [(str(name), data) for name, data in objects.items()]
    return [(Path(p).name, Path(p)) for p in objects]
