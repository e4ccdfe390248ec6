"""The libtrace convention: what an emulated `libtrace*` library answers.

A library whose soname starts with "libtrace" binds every function NAME to a recorder.
Its arity comes from a `_a<d>` suffix (d in 0..6, else 0); it returns a hash of its name
and its arguments, and each data object it exports is filled with hashed words.  Both
sides of a test (the fuzzers' models and the emulator) compute the same numbers from
this module's formulas, so a program's behaviour is known without running it.
"""

from __future__ import annotations

import re
from functools import lru_cache

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
_ARITY = re.compile(r"_a([0-6])$")


def is_libtrace(soname: str) -> bool:
    """True for the sonames whose every symbol is a recorder."""
    return soname.startswith("libtrace")


def fnv1a64(data: bytes) -> int:
    """Standard FNV-1a, 64-bit: xor each byte in, then multiply (mod 2**64)."""
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & _MASK64
    return h


def arity(name: str) -> int:
    """Number of integer arguments a recorder reads: d from a trailing `_a<d>`, else 0."""
    match = _ARITY.search(name)
    return int(match.group(1)) if match else 0


@lru_cache(maxsize=4096)
def call_result(name: str, args: tuple[int, ...]) -> int:
    """The value a recorder returns (always fits in 31 bits, so it is the same on i386).
    Cached: a fuzz example makes the same calls under lazy and eager binding, and the hash
    goes byte by byte in Python."""
    packed = b"".join((a & _MASK64).to_bytes(8, "little") for a in args)
    return fnv1a64(name.encode() + packed) & 0x7FFFFFFF


def data_word(name: str, k: int) -> int:
    """Word k (4 bytes, little-endian) of the data object `name`."""
    return fnv1a64(name.encode() + k.to_bytes(4, "little")) & 0xFFFFFFFF


_CACHED_OBJECT_BYTES = 4096  # larger objects (hostile sizes) are not kept in the cache


def data_bytes(name: str, size: int) -> bytes:
    """The initial contents of a data object of `size` bytes (a trailing partial word is cut).
    Small ones are cached: every run of a program refills the same objects, and hashing them
    byte by byte in Python was a tenth of a fuzz example's emulation cost."""
    if size <= _CACHED_OBJECT_BYTES:
        return _small_data_bytes(name, size)
    return _data_bytes(name, size)


@lru_cache(maxsize=4096)
def _small_data_bytes(name: str, size: int) -> bytes:
    return _data_bytes(name, size)


def _data_bytes(name: str, size: int) -> bytes:
    """Every word's data_word at once: the name's part of the hash is the same for all of
    them, and the word number's four bytes are folded in as arrays (uint64 arithmetic
    wraps modulo 2**64, as FNV's does).  numpy is imported here, not with the module: a
    run without a libtrace data object (any real program) need not pay its import."""
    import numpy as np

    prefix = np.uint64(fnv1a64(name.encode()))
    k = np.arange((size + 3) // 4, dtype=np.uint64)
    h = np.full(k.shape, prefix, dtype=np.uint64)
    for shift in (0, 8, 16, 24):
        h = (h ^ ((k >> np.uint64(shift)) & np.uint64(0xFF))) * np.uint64(FNV_PRIME)
    return (h & np.uint64(0xFFFFFFFF)).astype("<u4").tobytes()[:size]
