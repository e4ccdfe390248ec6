"""Reading and writing an x86 file's little-endian fields, for the semantic family's
parsed ELF and Mach-O images alike."""

from __future__ import annotations


class LittleEndianFields:
    """`data` (the file being rewritten) read and written a field at a time; a write past
    the end is dropped, since a rewrite may aim at a field a shorter file lacks."""

    data: bytearray
    is64: bool

    @property
    def word(self) -> int:
        return 8 if self.is64 else 4

    def get(self, at: int, width: int) -> int:
        return int.from_bytes(self.data[at:at + width], "little")

    def put(self, at: int, width: int, value: int) -> None:
        if 0 <= at and at + width <= len(self.data):
            self.data[at:at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width,
                                                                                  "little")
