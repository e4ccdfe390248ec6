"""Universal ("fat") inputs: objects and archives holding one slice per architecture, as
lipo writes them and ld64 reads them.  The link takes the slice its `-arch` names.

mach-o/fat.h: a big-endian `fat_header` (FAT_MAGIC, or FAT_MAGIC_64 whose records have
64-bit offset and size), then one record per slice: cputype, cpusubtype, offset, size,
align.  A Java class file shares FAT_MAGIC; a count of 45 or more (its major version)
means "not fat", as in Apple's tools.
"""

from __future__ import annotations

import struct

from ..errors import LinkError

FAT_MAGICS = {b"\xca\xfe\xba\xbe": struct.Struct(">iiIII"),  # FAT_MAGIC: fat_arch
              b"\xca\xfe\xba\xbf": struct.Struct(">iiQQII")}  # FAT_MAGIC_64: fat_arch_64
MAX_FAT_ARCHS = 45
CPU_NAMES = {7: "i386", 0x01000007: "x86_64", 12: "arm", 0x0100000C: "arm64",
             0x0200000C: "arm64_32", 18: "ppc", 0x01000012: "ppc64"}


def is_fat(data: bytes) -> bool:
    return (len(data) >= 8 and bytes(data[:4]) in FAT_MAGICS
            and struct.unpack_from(">I", data, 4)[0] < MAX_FAT_ARCHS)


def _name(cputype: int, cpusubtype: int) -> str:
    sub = cpusubtype & 0x00FFFFFF  # the high byte holds capability bits
    if cputype == 0x01000007 and sub == 8:
        return "x86_64h"
    if cputype == 0x0100000C and sub == 2:
        return "arm64e"
    return CPU_NAMES.get(cputype, f"cputype {cputype:#x}")


def fat_slice(data: bytes, path: str, arch: str) -> bytes:
    """The bytes of the `arch` slice; a LinkError naming the slices present when it has
    none, or when the header or the slice runs past the file."""
    record = FAT_MAGICS[bytes(data[:4])]
    (count,) = struct.unpack_from(">I", data, 4)
    if 8 + count * record.size > len(data):
        raise LinkError(f"fat header: {count} slice records run past the end of the file",
                        file=path, offset=4)
    names = []
    for i in range(count):
        at = 8 + i * record.size
        cputype, cpusubtype, offset, size = record.unpack_from(data, at)[:4]
        name = _name(cputype, cpusubtype)
        names.append(name)
        if name != arch:
            continue
        if offset + size > len(data):
            raise LinkError(f"fat header: the {arch} slice [{offset:#x}, {offset + size:#x}) "
                            f"runs past the end of the file ({len(data):#x} bytes)",
                            file=path, offset=at)
        return bytes(data[offset:offset + size])
    raise LinkError(f"universal file has no {arch} slice (slices: {', '.join(names) or 'none'})",
                    file=path, offset=0)
