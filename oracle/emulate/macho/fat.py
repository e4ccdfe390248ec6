"""Universal ("fat") Mach-O files: the big-endian fat header, its slices, and picking one.

A fat file is `fat_header` (magic, nfat_arch) followed by nfat_arch `fat_arch` records
(cputype, cpusubtype, offset, size, align: five big-endian 32-bit words) or, with
FAT_MAGIC_64, `fat_arch_64` records (offset and size 64-bit, then align and a reserved
word).  Each slice is a whole thin Mach-O file at `offset`, aligned to 2**align
(mach-o/fat.h).  The oracle reads only x86-64 and i386 slices; the others (arm64,
arm64e, ppc) are named so that a message can list them.

Java class files share FAT_MAGIC; like Apple's tools, a count of 45 or more (a class
file's major version) means the file is not fat.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from oracle.regular_file import read_regular

FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
FAT_MAGIC_BYTES = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")
MAX_FAT_ARCHS = 45  # below a Java class file's smallest major version
CPU_ARCH_ABI64 = 0x01000000
CPU_SUBTYPE_MASK = 0xFF000000  # capability bits (CPU_SUBTYPE_LIB64, ptrauth) above the subtype
_CPU_NAMES = {7: "i386", 0x01000007: "x86_64", 12: "arm", 0x0100000C: "arm64",
              0x0200000C: "arm64_32", 18: "ppc", 0x01000012: "ppc64"}
READABLE_ARCHS = ("x86_64", "i386")  # what the checker, the field oracle and dyld read


class FatError(Exception):
    """The fat header cannot be read: `where` names the place."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


@dataclass(frozen=True)
class FatSlice:
    index: int
    cputype: int
    cpusubtype: int
    offset: int
    size: int
    align: int  # log2

    @property
    def arch(self) -> str:
        return arch_name(self.cputype, self.cpusubtype)


def arch_name(cputype: int, cpusubtype: int) -> str:
    """The `-arch` spelling of a cputype/cpusubtype pair (x86_64h and arm64e included)."""
    sub = cpusubtype & ~CPU_SUBTYPE_MASK & 0xFFFFFFFF
    if cputype == 0x01000007 and sub == 8:
        return "x86_64h"
    if cputype == 0x0100000C and sub == 2:
        return "arm64e"
    return _CPU_NAMES.get(cputype, f"cputype {cputype:#x}")


def foreign_thin_arch(data: bytes) -> str | None:
    """The CPU of a thin little-endian Mach-O file that is not x86 (arm64, arm64e, ...):
    the oracle does not judge those; None for x86 files and for anything else."""
    if len(data) < 12 or struct.unpack_from("<I", data)[0] not in (0xFEEDFACE, 0xFEEDFACF):
        return None
    cputype, cpusubtype = struct.unpack_from("<ii", data, 4)
    if cputype & 0xFFFFFFFF in (7, 0x01000007) or cputype not in _CPU_NAMES:
        return None
    return arch_name(cputype, cpusubtype)


MH_DSYM = 0xA
AR_MAGIC = b"!<arch>\n"


def not_judged(data: bytes) -> str | None:
    """Why the Mach-O rules do not apply to a thin file (or a fat file's slice), or None
    when they do: a CPU other than x86 (foreign_thin_arch), a dSYM companion that
    dsymutil wrote (MH_DSYM: the image's load commands with no contents behind them,
    never loaded), or a static archive (a slice of a universal library made by lipo).
    None of those is a linked image."""
    foreign = foreign_thin_arch(data)
    if foreign is not None:
        return f"{foreign} is not judged (the Mach-O rules are for x86_64 and i386)"
    if bytes(data[:8]) == AR_MAGIC:
        return "a static archive is not judged (the Mach-O rules are for linked images)"
    if (len(data) >= 16 and struct.unpack_from("<I", data)[0] in (0xFEEDFACE, 0xFEEDFACF)
            and struct.unpack_from("<I", data, 12)[0] == MH_DSYM):
        return ("a dSYM companion (MH_DSYM) is not judged (the Mach-O rules are for linked "
                "images; dsymutil writes its load commands without their contents)")
    return None


def is_fat(data: bytes) -> bool:
    if len(data) < 8 or bytes(data[:4]) not in FAT_MAGIC_BYTES:
        return False
    (count,) = struct.unpack_from(">I", data, 4)
    return count < MAX_FAT_ARCHS


def read_fat(data: bytes) -> list[FatSlice]:
    """The slices the header lists, in order; FatError when the records run past the file.
    Slice bounds are not checked here (the checker's fat rules judge them)."""
    magic, count = struct.unpack_from(">II", data, 0)
    wide = magic == FAT_MAGIC_64
    record = struct.Struct(">iiQQII" if wide else ">iiIII")
    if 8 + count * record.size > len(data):
        raise FatError("fat header", f"{count} fat_arch{'_64' if wide else ''} records "
                                     f"({record.size} bytes each) run past the file's "
                                     f"{len(data)} bytes")
    slices = []
    for i in range(count):
        cputype, cpusubtype, offset, size, align = record.unpack_from(data, 8 + i * record.size)[:5]
        slices.append(FatSlice(i, cputype, cpusubtype, offset, size, align))
    return slices


def slice_names(slices: list[FatSlice]) -> str:
    return ", ".join(s.arch for s in slices) or "none"


def select_slice(data: bytes, arch: str | None) -> tuple[bytes, str]:
    """The thin file for `arch` (None: x86_64, else i386, as an Intel Mac prefers) and its
    name.  FatError naming the slices present when there is no such slice or it lies
    outside the file."""
    slices = read_fat(data)
    wanted = [arch] if arch else list(READABLE_ARCHS)
    for name in wanted:
        for s in slices:
            if s.arch == name:
                if s.offset + s.size > len(data):
                    raise FatError(f"slice {s.index} ({name})",
                                   f"offset {s.offset:#x} + size {s.size:#x} runs past the "
                                   f"file's {len(data):#x} bytes")
                return bytes(data[s.offset:s.offset + s.size]), name
    asked = arch or " or ".join(READABLE_ARCHS)
    raise FatError("fat header", f"no {asked} slice (slices present: {slice_names(slices)})")


def thin_path(path: str, arch: str | None, directory: str) -> str:
    """`path` itself when it is not a fat file; else the `arch` slice written to a file in
    `directory` (so that readers of thin files, the emulated dyld and the field oracle, take
    a universal file unchanged).  FatError when there is no such slice."""
    data = read_regular(path)
    if not is_fat(data):
        return path
    thin, name = select_slice(data, arch)
    out = os.path.join(directory, f"{os.path.basename(path)}.{name}")
    with open(out, "wb") as f:
        f.write(thin)
    return out
