"""The libtrace convention, and the real `libtraceN.so` built from it for native runs.

A libtrace library exports recorder functions and data objects whose behaviour is a fixed
function of their names, so a program model can predict what every import returns without
running anything:

- function NAME has arity d taken from the suffix `_a<d>`; it receives the first d integer
  argument registers as unsigned 64-bit values and returns
  fnv1a64(NAME + args as 8-byte little-endian words) & 0x7fffffff;
- data object NAME of n bytes holds 4-byte little-endian words, word k being
  fnv1a64(NAME + k as a 4-byte little-endian word) & 0xffffffff.

The emulator (oracle.emulate) implements the same rules; this module implements them again on
purpose, because fuzz/ must stay independent of what it checks.  The native library prints
one line per call on stderr: `TRACE <soname> <symbol> <hex args...>`, written with write(2)
so that nothing is lost in a stdio buffer when the program ends with exit_group.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1
LIBRARY_COUNT = 3
FUNCTION_ARITIES = (0, 1, 2, 3, 4, 5, 6)
DATA_SIZES = (8, 16, 32)


def fnv1a64(data: bytes, h: int = FNV_OFFSET) -> int:
    """FNV-1a over `data`, from the state `h` (the offset basis: a hash from scratch)."""
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & MASK64
    return h


@functools.lru_cache(maxsize=256)
def _named(name: str) -> int:
    """The hash state after a symbol's name, the start of every payload hashed for it: the
    model hashes each call's arguments after it (the name is most of the bytes)."""
    return fnv1a64(name.encode())


@functools.lru_cache(maxsize=256)
def arity_of(name: str) -> int:
    match = re.search(r"_a([0-6])$", name)
    if match is None:
        raise ValueError(f"libtrace function {name!r} has no _a<d> arity suffix")
    return int(match.group(1))


def function_result(name: str, args: tuple[int, ...]) -> int:
    payload = b"".join((a & MASK64).to_bytes(8, "little") for a in args)
    return fnv1a64(payload, _named(name)) & 0x7FFFFFFF


@functools.lru_cache(maxsize=1024)
def data_word(name: str, k: int) -> int:
    return fnv1a64(k.to_bytes(4, "little"), _named(name)) & 0xFFFFFFFF


@dataclass(frozen=True)
class Import:
    """One symbol exported by a libtrace library."""

    library: int  # N of libtraceN.so
    name: str
    size: int  # bytes of a data object; 0 for a function

    @property
    def soname(self) -> str:
        return f"libtrace{self.library}.so"

    @property
    def is_function(self) -> bool:
        return self.size == 0


def catalogue() -> tuple[Import, ...]:
    """Every symbol of every libtrace library, in a fixed order (the libraries are built
    once per session, so the set cannot depend on the drawn example)."""
    out: list[Import] = []
    for lib in range(1, LIBRARY_COUNT + 1):
        out += [Import(lib, f"lt{lib}_f{d}_a{d}", 0) for d in FUNCTION_ARITIES]
        out += [Import(lib, f"lt{lib}_d{i}", n) for i, n in enumerate(DATA_SIZES)]
    return tuple(out)


IMPORTS: dict[str, Import] = {imp.name: imp for imp in catalogue()}

_C_PRELUDE = r"""
#include <stdint.h>
#include <unistd.h>

static uint64_t fnv(const char *name, const uint64_t *args, int n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = name; *p; ++p) { h ^= (unsigned char)*p; h *= 0x100000001b3ULL; }
    for (int i = 0; i < n; ++i)
        for (int b = 0; b < 8; ++b) { h ^= (args[i] >> (8 * b)) & 0xff; h *= 0x100000001b3ULL; }
    return h;
}

static void record(const char *soname, const char *name, const uint64_t *args, int n) {
    char buf[256];
    int len = 0;
    const char *parts[3] = {"TRACE ", soname, " "};
    for (int i = 0; i < 3; ++i) for (const char *p = parts[i]; *p; ++p) buf[len++] = *p;
    for (const char *p = name; *p; ++p) buf[len++] = *p;
    for (int i = 0; i < n; ++i) {
        buf[len++] = ' ';
        for (int s = 60; s >= 0; s -= 4) buf[len++] = "0123456789abcdef"[(args[i] >> s) & 15];
    }
    buf[len++] = '\n';
    write(2, buf, len);
}
"""

_PARAMS = ("a", "b", "c", "d", "e", "f")


def c_source(library: int, m32: bool = False) -> str:
    """The C source of libtrace<library>.so.  Its parameters are machine words (i386:
    32-bit stack cells, as the emulator reads them), hashed as 64-bit values."""
    soname = f"libtrace{library}.so"
    word = "uint32_t" if m32 else "uint64_t"
    lines = [_C_PRELUDE]
    for imp in catalogue():
        if imp.library != library:
            continue
        if imp.is_function:
            d = arity_of(imp.name)
            params = ", ".join(f"{word} {p}" for p in _PARAMS[:d]) or "void"
            arr = ", ".join(_PARAMS[:d]) or "0"
            lines.append(
                f"uint64_t {imp.name}({params}) {{\n"
                f"    uint64_t args[] = {{{arr}}};\n"
                f'    record("{soname}", "{imp.name}", args, {d});\n'
                f'    return fnv("{imp.name}", args, {d}) & 0x7fffffff;\n}}\n'
            )
        else:
            words = ", ".join(f"0x{data_word(imp.name, k):08x}u" for k in range(imp.size // 4))
            lines.append(f"uint32_t {imp.name}[{imp.size // 4}] = {{{words}}};\n")
    return "\n".join(lines)


def build_libraries(directory: Path, m32: bool = False) -> dict[int, Path]:
    """Compile every libtraceN.so into `directory` (i386 ones with `m32`; keep them in a
    directory of their own: the sonames are the same); returns N -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[int, Path] = {}
    for lib in range(1, LIBRARY_COUNT + 1):
        src = directory / f"libtrace{lib}.c"
        src.write_text(c_source(lib, m32))
        so = directory / f"libtrace{lib}.so"
        subprocess.run(
            ["gcc", *(["-m32"] if m32 else []), "-O1", "-shared", "-fPIC",
             f"-Wl,-soname,libtrace{lib}.so", "-o", str(so), str(src)],
            check=True, capture_output=True,
        )
        out[lib] = so
    return out


def parse_native_trace(stderr: bytes) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    """The (soname, symbol, args) records printed by the native libraries, in call order."""
    records = []
    for line in stderr.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "TRACE":
            records.append((parts[1], parts[2], tuple(int(a, 16) for a in parts[3:])))
    return tuple(records)
