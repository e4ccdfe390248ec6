"""Header and load-command rules, judged on the raw bytes (they hold even when the rest
of the file cannot be parsed, so they say what broke the parse).

Two kinds of file are accepted: 64-bit (MH_MAGIC_64, CPU_TYPE_X86_64, mach_header_64 of 32
bytes, LC_SEGMENT_64) and 32-bit (MH_MAGIC, CPU_TYPE_I386, mach_header of 28 bytes,
LC_SEGMENT); the magic decides which sizes every other rule reads with."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_ARCH, DYLD_LOAD_COMMANDS, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi

TOPIC = "header"
# The fixed size of each load command dyld and the kernel read (cmdsize may be larger).
MIN_SIZE = {
    mi.LC_SEGMENT_64: 72, mi.LC_SEGMENT: 56, mi.LC_SYMTAB: 24, mi.LC_DYSYMTAB: 80, mi.LC_DYLD_INFO: 48,
    mi.LC_DYLD_INFO_ONLY: 48, mi.LC_MAIN: 24, mi.LC_LOAD_DYLINKER: 12, mi.LC_UNIXTHREAD: 16,
    **{cmd: 24 for cmd in mi.DYLIB_COMMANDS},
}


def is_32_bit(data: bytes) -> bool:
    return data[:4] == mi.MH_MAGIC.to_bytes(4, "little")


def header_size(data: bytes) -> int:
    """mach_header is 28 bytes, mach_header_64 32 (it adds a reserved word)."""
    return mi.HEADER_SIZE_32 if is_32_bit(data) else mi.HEADER_SIZE


def _raw_commands(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(index, offset, cmd, cmdsize) of every command inside sizeofcmds, stopping at the
    first one that cannot be walked past."""
    size = header_size(data)
    if len(data) < size:
        return
    ncmds, sizeofcmds = struct.unpack_from("<II", data, 16)
    offset, end = size, min(size + sizeofcmds, len(data))
    for index in range(ncmds):
        if offset + 8 > end:
            return
        cmd, size = struct.unpack_from("<II", data, offset)
        yield index, offset, cmd, size
        if size < 8:
            return
        offset += size


@rule("MACHO-HEADER", TOPIC,
      "the header names a linked image (MH_EXECUTE, MH_DYLIB or MH_BUNDLE: the executable-only "
      "rules skip the other two) and a CPU its magic fits (MH_MAGIC_64 x86-64, MH_MAGIC "
      "i386), and sizeofcmds fits in the file", DYLD_ARCH)
def header(f: MachOFile) -> Iterator[Finding]:
    data = f.data
    size = header_size(data)
    if len(data) < size:
        yield "header", f"{len(data)} bytes is shorter than the {size}-byte mach_header"
        return
    magic, cputype, _, filetype, _, sizeofcmds = struct.unpack_from("<IiiIII", data, 0)
    if magic not in (mi.MH_MAGIC_64, mi.MH_MAGIC):
        yield "magic", f"{magic:#x} is neither MH_MAGIC_64 nor MH_MAGIC"
    elif magic == mi.MH_MAGIC_64 and cputype != mi.CPU_TYPE_X86_64:
        yield "cputype", f"{cputype:#x} is not CPU_TYPE_X86_64 (a 64-bit file)"
    elif magic == mi.MH_MAGIC and cputype != mi.CPU_TYPE_I386:
        yield "cputype", f"{cputype:#x} is not CPU_TYPE_I386 (a 32-bit file)"
    if filetype not in mi.LINKED_FILETYPES:
        yield "filetype", f"{filetype} is not MH_EXECUTE, MH_DYLIB or MH_BUNDLE"
    if size + sizeofcmds > len(data):
        yield "sizeofcmds", f"{sizeofcmds:#x} runs past the end of the file"


@rule("MACHO-LC-SIZE", TOPIC,
      "each cmdsize covers its command, and the commands fill exactly sizeofcmds",
      DYLD_LOAD_COMMANDS)
def lc_size(f: MachOFile) -> Iterator[Finding]:
    data = f.data
    head = header_size(data)
    if len(data) < head:
        return
    ncmds, sizeofcmds = struct.unpack_from("<II", data, 16)
    end = head + sizeofcmds
    walked = head
    count = 0
    segment = mi.LC_SEGMENT if is_32_bit(data) else mi.LC_SEGMENT_64
    fixed, each = mi.SEGMENT_COMMAND_SIZE[segment], mi.SECTION_SIZE[segment]
    for index, offset, cmd, size in _raw_commands(data):
        count += 1
        where = f"load command {index} ({cmd:#x})"
        need = MIN_SIZE.get(cmd, 8)
        if cmd == segment and offset + fixed <= len(data):
            (nsects,) = struct.unpack_from("<I", data, offset + fixed - 8)
            if size != fixed + each * nsects:
                yield where, f"cmdsize {size} is not {fixed} + {each} * nsects ({nsects})"
        if size < need:
            yield where, f"cmdsize {size} is smaller than the command's {need} bytes"
            return
        if offset + size > end:
            yield where, f"cmdsize {size} runs past sizeofcmds"
            return
        walked = offset + size
    if count < ncmds:
        yield "ncmds", f"only {count} of {ncmds} commands fit in sizeofcmds"
    elif walked != end:
        yield "sizeofcmds", f"commands end at {walked:#x}, sizeofcmds says {end:#x}"


@rule("MACHO-LC-ALIGN", TOPIC,
      "every cmdsize is a multiple of 8 in a 64-bit file, of 4 in a 32-bit one (so each "
      "command is aligned; loader.h)", DYLD_LOAD_COMMANDS)
def lc_align(f: MachOFile) -> Iterator[Finding]:
    unit = 4 if is_32_bit(f.data) else 8
    for index, _, cmd, size in _raw_commands(f.data):
        if size % unit:
            yield f"load command {index} ({cmd:#x})", f"cmdsize {size} is not a multiple of {unit}"


@rule("MACHO-SEGMENT-WIDTH", TOPIC,
      "segment commands match the file's width: LC_SEGMENT in a 32-bit (MH_MAGIC) file, "
      "LC_SEGMENT_64 in a 64-bit one (a mismatched one is a segment no loader maps)",
      DYLD_LOAD_COMMANDS)
def segment_width(f: MachOFile) -> Iterator[Finding]:
    wrong = mi.LC_SEGMENT_64 if is_32_bit(f.data) else mi.LC_SEGMENT
    name = "LC_SEGMENT_64 in a 32-bit" if wrong == mi.LC_SEGMENT_64 else "LC_SEGMENT in a 64-bit"
    for index, _, cmd, _ in _raw_commands(f.data):
        if cmd == wrong:
            yield f"load command {index}", f"{name} file"
