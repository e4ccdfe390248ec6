"""Unsigned LEB128, as DWARF and Mach-O's dyld information write their numbers: the
fuzzers' and the tests' one encoder (independent of the linker's, linker/macho/dyldinfo.py)."""

from __future__ import annotations


def uleb128(value: int) -> bytes:
    """`value` (0 or more) in 7-bit groups, low first, each but the last with bit 7 set."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
