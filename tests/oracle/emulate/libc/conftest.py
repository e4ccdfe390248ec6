"""Shared fixtures: glibc's own printf, run natively, as the oracle for the emulated one.

A case is a format and its arguments, each a tuple: ("i", size, value) an integer passed
with `size` bytes (0: the ABI word, as for long, size_t and pointers), ("d", value) a double, ("s", bytes) a pointer to a NUL-terminated string.
Both sides see the same argument image (see printf_oracle.c), so a conversion that fetches
the wrong size shows up as garbage in every later field.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from oracle.emulate.guest import GuestFault
from oracle.emulate.libc.flatmem import FlatMemory, PackedArgs
from oracle.emulate.libc.format import format_printf

Arg = tuple[object, ...]
Case = tuple[bytes, Sequence[Arg]]

HERE = Path(__file__).parent
STRINGS_BASE = 0x10000


def layout(args: Sequence[Arg], word: int) -> tuple[bytearray, list[tuple[int, bytes]]]:
    """The argument image and the (offset, text) of every string pointer slot in it."""
    image = bytearray()
    strings: list[tuple[int, bytes]] = []
    for arg in args:
        if arg[0] == "i":
            size, value = int(arg[1]) or word, int(arg[2])  # type: ignore[call-overload]
            cell = max(size, word)
            image += (value & ((1 << (8 * size)) - 1)).to_bytes(cell, "little")
        elif arg[0] == "d":
            image += struct.pack("<d", arg[1])
        else:
            strings.append((len(image), bytes(arg[1])))  # type: ignore[call-overload]
            image += bytes(word)
    return image, strings


class PrintfOracle:
    """Runs batches of cases through native glibc and through the emulated engine."""

    def __init__(self, binaries: dict[int, Path]) -> None:
        self.binaries = binaries

    def native(self, word: int, cases: Sequence[Case]) -> list[tuple[int, bytes]]:
        request = bytearray()
        for fmt, args in cases:
            image, strings = layout(args, word)
            request += struct.pack("<I", len(fmt)) + fmt
            request += struct.pack("<I", len(image)) + image + struct.pack("<I", len(strings))
            for offset, text in strings:
                request += struct.pack("<II", offset, len(text)) + text
        done = subprocess.run(
            [self.binaries[word]], input=bytes(request), capture_output=True, check=True
        )
        answers, out, at = [], done.stdout, 0
        for _ in cases:
            ret, kept = struct.unpack_from("<iI", out, at)
            answers.append((ret, out[at + 8 : at + 8 + kept]))
            at += 8 + kept
        return answers

    def emulated(self, word: int, cases: Sequence[Case]) -> list[tuple[int, bytes]]:
        answers = []
        for fmt, args in cases:
            image, strings = layout(args, word)
            mem = FlatMemory(STRINGS_BASE, 1 << 16)
            cursor = STRINGS_BASE + 16
            for offset, text in strings:
                mem.write(cursor, text + b"\0")
                image[offset : offset + word] = cursor.to_bytes(word, "little")
                cursor += len(text) + 16
            try:
                text = format_printf(mem, fmt, PackedArgs(bytes(image), word), word=word)
            except GuestFault as fault:
                answers.append((-1, fault.message.encode()))
            else:
                answers.append((len(text), text))
        return answers


@pytest.fixture(scope="session")
def printf_oracle(tmp_path_factory: pytest.TempPathFactory) -> PrintfOracle:
    out = tmp_path_factory.mktemp("printf_oracle")
    binaries = {8: out / "oracle64", 4: out / "oracle32"}
    source = HERE / "printf_oracle.c"
    subprocess.run(["gcc", "-O1", "-o", binaries[8], source], check=True)
    subprocess.run(["gcc", "-m32", "-O1", "-o", binaries[4], source], check=True)
    return PrintfOracle(binaries)
