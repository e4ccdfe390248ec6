"""Header and load-command rules, judged on the raw bytes (they hold even when the rest
of the file cannot be parsed, so they say what broke the parse)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_ARCH, DYLD_LOAD_COMMANDS, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi

TOPIC = "header"
# The fixed size of each load command dyld and the kernel read (cmdsize may be larger).
MIN_SIZE = {
    mi.LC_SEGMENT_64: 72, mi.LC_SYMTAB: 24, mi.LC_DYSYMTAB: 80, mi.LC_DYLD_INFO: 48,
    mi.LC_DYLD_INFO_ONLY: 48, mi.LC_MAIN: 24, mi.LC_LOAD_DYLINKER: 12, mi.LC_UNIXTHREAD: 16,
    **{cmd: 24 for cmd in mi.DYLIB_COMMANDS},
}


def _raw_commands(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(index, offset, cmd, cmdsize) of every command inside sizeofcmds, stopping at the
    first one that cannot be walked past."""
    if len(data) < mi.HEADER_SIZE:
        return
    ncmds, sizeofcmds = struct.unpack_from("<II", data, 16)
    offset, end = mi.HEADER_SIZE, min(mi.HEADER_SIZE + sizeofcmds, len(data))
    for index in range(ncmds):
        if offset + 8 > end:
            return
        cmd, size = struct.unpack_from("<II", data, offset)
        yield index, offset, cmd, size
        if size < 8:
            return
        offset += size


@rule("MACHO-HEADER", TOPIC,
      "mach_header_64 names x86-64, MH_EXECUTE, and sizeofcmds fits in the file", DYLD_ARCH)
def header(f: MachOFile) -> Iterator[Finding]:
    data = f.data
    if len(data) < mi.HEADER_SIZE:
        yield "header", f"{len(data)} bytes is shorter than mach_header_64"
        return
    magic, cputype, _, filetype, _, sizeofcmds = struct.unpack_from("<IiiIII", data, 0)
    if magic != mi.MH_MAGIC_64:
        yield "magic", f"{magic:#x} is not MH_MAGIC_64"
    if cputype != mi.CPU_TYPE_X86_64:
        yield "cputype", f"{cputype:#x} is not CPU_TYPE_X86_64"
    if filetype != mi.MH_EXECUTE:
        yield "filetype", f"{filetype} is not MH_EXECUTE"
    if mi.HEADER_SIZE + sizeofcmds > len(data):
        yield "sizeofcmds", f"{sizeofcmds:#x} runs past the end of the file"


@rule("MACHO-LC-SIZE", TOPIC,
      "each cmdsize covers its command, and the commands fill exactly sizeofcmds",
      DYLD_LOAD_COMMANDS)
def lc_size(f: MachOFile) -> Iterator[Finding]:
    data = f.data
    if len(data) < mi.HEADER_SIZE:
        return
    ncmds, sizeofcmds = struct.unpack_from("<II", data, 16)
    end = mi.HEADER_SIZE + sizeofcmds
    walked = mi.HEADER_SIZE
    count = 0
    for index, offset, cmd, size in _raw_commands(data):
        count += 1
        where = f"load command {index} ({cmd:#x})"
        need = MIN_SIZE.get(cmd, 8)
        if cmd == mi.LC_SEGMENT_64 and offset + 72 <= len(data):
            (nsects,) = struct.unpack_from("<I", data, offset + 64)
            if size != 72 + 80 * nsects:
                yield where, f"cmdsize {size} is not 72 + 80 * nsects ({nsects})"
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
      "every cmdsize of a 64-bit file is a multiple of 8 (so each command is aligned)",
      DYLD_LOAD_COMMANDS)
def lc_align(f: MachOFile) -> Iterator[Finding]:
    for index, _, cmd, size in _raw_commands(f.data):
        if size % 8:
            yield f"load command {index} ({cmd:#x})", f"cmdsize {size} is not a multiple of 8"
