"""Hostile guest code: instruction streams no compiler writes, at the entry point of a
minimal static executable, for the emulator (oracle.run) alone.

The file families mutate what linkers and compilers wrote, so the code they hand the
emulator is mostly real code.  Unicorn's translator has limits that only odd code meets:
hundreds of x87 register forms, segment loads or SSE immediates in one straight line
overflow its TCG temporaries and kill the process (oracle/emulate/translation_guard.py).
This generator draws such code on purpose: random bytes; mixes of instructions from a
table of the unusual (x87 and its aliases, segment and control registers, the 0F 38/0F 3A
maps, string ops with huge counts, system calls with random numbers, privileged and
undefined opcodes, far transfers) and the ordinary; one piece repeated across the block
(radamsa's repeat); and such runs broken by short jumps.  The executable is our own
writer's: one PT_LOAD, read-write-execute, the code at the entry, x86-64 or i386.  Or
(`self_writing`) the code is written while the program runs, as a packer writes it: a
prologue decodes it (XOR with a drawn key) into the zero fill and jumps there, so the
emulator must check code it did not see at load (oracle/emulate/code_writes.py).
"""

from __future__ import annotations

import struct

from .mutate import Picker, choose

# Encodings by mode ("": both); each is a whole instruction, prefixes included.
_UNUSUAL = (
    "d9e8", "dec1", "dac1", "dbc1", "d9c9", "dcdc", "ddc9", "dfc9", "d921", "dd31", "d9f0",
    "d9fa", "d9fe", "dfe0", "9b", "0f70c01b", "660f70c01b", "0fc6c01b", "660f3a0fc104",
    "660f3a44c100", "f20f38f0c9", "660f38dcc1", "8ee1", "8ee9", "8ec0", "0f20c1", "0f22c1",
    "0f01d0", "0fa2", "0f31", "0fae00", "0fae08", "f3a4", "f3ab", "f3a6", "c8ffff00",
    "0f05", "0f34", "0f0b", "f4", "cc", "cd80", "0f00c0", "0f01f9", "f390", "0faef0",
    "cf", "cb", "0f0d08", "f00fb10f", "c5fc77", "c4e27d18c0", "0f77", "0fd4c0",
)
_UNUSUAL_32 = ("ce", "d4c9", "d5c9", "27", "2f", "37", "3f", "60", "61", "9a0000000000",
               "ea0000000000", "6200")
_UNUSUAL_64 = ("48cf", "48a5", "f348a5", "4c8b00", "48c7c03c000000")
_ORDINARY = ("90", "01c8", "31c0", "89c1", "50", "58", "8b01", "8901", "eb00", "7400",
             "e800000000", "c3", "0f1f440000", "83c001", "ffc0")
GUEST_CODE = "guest-code"  # the campaign's target names: the code at the entry,
GUEST_CODE_WRITTEN = "guest-code-written"  # and the code a packer writes and jumps to
_JUMP = bytes.fromhex("eb00")  # a short jump to the next instruction: ends a block
CODE_SIZES = (16, 64, 512, 2048, 4096, 8192)


def _table(bits: int) -> list[bytes]:
    extra = _UNUSUAL_32 if bits == 32 else _UNUSUAL_64
    return [bytes.fromhex(h) for h in (*_UNUSUAL, *extra)]


def draw_code(pick: Picker, bits: int) -> bytes:
    """Code for the entry point: one of five shapes, up to 8 KiB."""
    size = choose(pick, CODE_SIZES)
    unusual = _table(bits)
    ordinary = [bytes.fromhex(h) for h in _ORDINARY]
    shape = pick.integer(0, 4)
    out = bytearray()
    if shape == 0:  # random bytes (drawn as words: cheap for Hypothesis to shrink)
        while len(out) < size:
            out += struct.pack("<I", pick.integer(0, 0xFFFFFFFF))
    elif shape == 1:  # unusual instructions only
        while len(out) < size:
            out += choose(pick, unusual)
    elif shape == 2:  # one piece repeated across the block
        piece = choose(pick, unusual) + (choose(pick, ordinary) if pick.integer(0, 3) == 0
                                         else b"")
        out += piece * (size // len(piece) + 1)
    elif shape == 3:  # a mix of unusual and ordinary
        while len(out) < size:
            out += choose(pick, unusual if pick.integer(0, 1) else ordinary)
    else:  # runs of one unusual instruction broken by jumps every `gap` instructions
        piece, gap = choose(pick, unusual), choose(pick, [8, 50, 120, 230, 460])
        while len(out) < size:
            out += piece * gap + _JUMP
    return bytes(out[:size])


def static_executable(code: bytes, bits: int) -> bytes:
    """An ET_EXEC with one read-write-execute PT_LOAD: headers, then `code` at the entry,
    then 64 KiB of zero fill (room for code that writes near itself)."""
    base = 0x400000 if bits == 64 else 0x8048000
    if bits == 64:
        ehsize, phsize = 64, 56
        entry = base + ehsize + phsize
        header = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2, 62, 1,
                             entry, ehsize, 0, 0, ehsize, phsize, 1, 64, 0, 0)
        total = ehsize + phsize + len(code)
        program = struct.pack("<IIQQQQQQ", 1, 7, 0, base, base, total, total + 0x10000,
                              0x1000)
    else:
        ehsize, phsize = 52, 32
        entry = base + ehsize + phsize
        header = struct.pack("<4sBBBBB7xHHIIIIIHHHHHH", b"\x7fELF", 1, 1, 1, 0, 0, 2, 3, 1,
                             entry, ehsize, 0, 0, ehsize, phsize, 1, 40, 0, 0)
        total = ehsize + phsize + len(code)
        program = struct.pack("<IIIIIIII", 1, 0, base, base, total, total + 0x10000, 7,
                              0x1000)
    return header + program + code


PACKED_AT = 0x2000  # where in the segment a packed program writes its code (the zero fill)


def self_writing(code: bytes, bits: int, key: int) -> bytes:
    """The body of a packed program: a prologue that writes `code` (kept XORed with
    `key`, so that what is loaded is not that code) at PACKED_AT from the segment's start,
    then jumps there; for static_executable, which places it at the entry."""
    head = 64 + 56 if bits == 64 else 52 + 32  # the entry's offset in the segment
    packed = bytes(b ^ key for b in code)
    # lodsb; xor al, key; stosb; loop back to lodsb; ret (to the pushed destination)
    decode = bytes([0xAC, 0x34, key, 0xAA, 0xE2, 0xFA, 0xC3])
    count = struct.pack("<I", len(code))
    if bits == 64:  # lea rsi, [rip+packed]; lea rdi, [rip+dest]; push rdi; mov ecx, len
        prologue_size = 7 + 7 + 1 + 5 + len(decode)
        payload = head + prologue_size
        prologue = (b"\x48\x8d\x35" + struct.pack("<i", payload - (head + 7))
                    + b"\x48\x8d\x3d" + struct.pack("<i", PACKED_AT - (head + 14))
                    + b"\x57\xb9" + count + decode)
    else:  # call next; pop esi; add esi, packed-next; lea edi, [esi+dest-packed]; push edi
        prologue_size = 5 + 1 + 6 + 6 + 1 + 5 + len(decode)
        payload = head + prologue_size
        prologue = (b"\xe8\x00\x00\x00\x00\x5e\x81\xc6"
                    + struct.pack("<i", payload - (head + 5))
                    + b"\x8d\xbe" + struct.pack("<i", PACKED_AT - payload)
                    + b"\x57\xb9" + count + decode)
    assert len(prologue) == prologue_size
    return prologue + packed
