"""ELF file and section headers, read in bulk and validated once.

Both the relocatable-object reader and the shared-object reader start here.  Section
headers become one numpy structured array (for the readers' vector questions) and a list
of plain tuples (for their walks over a dozen headers, where a numpy field read costs
microseconds), and every offset/size pair is checked against the file size before any
reader slices the bytes.
"""

from __future__ import annotations

import functools
import struct

import numpy as np

from ..errors import LinkError
from ..records import dataclass

ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB = 1
EM_386, EM_X86_64 = 3, 62
ARCH_OF_MACHINE = {(ELFCLASS64, EM_X86_64): "x86_64", (ELFCLASS32, EM_386): "i386"}

SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 0, 1, 2, 3, 4
SHT_DYNAMIC, SHT_NOTE, SHT_NOBITS, SHT_REL, SHT_DYNSYM = 6, 7, 8, 9, 11
SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY, SHT_GROUP, SHT_SYMTAB_SHNDX = 14, 15, 16, 17, 18
SHT_X86_64_UNWIND = 0x70000001
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHF_MERGE, SHF_STRINGS, SHF_GROUP, SHF_TLS = 0x10, 0x20, 0x200, 0x400
SHF_EXCLUDE = 0x80000000
SHF_GNU_RETAIN = 0x200000

_SHDR64 = np.dtype([("name", "<u4"), ("type", "<u4"), ("flags", "<u8"), ("addr", "<u8"),
                    ("offset", "<u8"), ("size", "<u8"), ("link", "<u4"), ("info", "<u4"),
                    ("addralign", "<u8"), ("entsize", "<u8")])
_SHDR32 = np.dtype([("name", "<u4"), ("type", "<u4"), ("flags", "<u4"), ("addr", "<u4"),
                    ("offset", "<u4"), ("size", "<u4"), ("link", "<u4"), ("info", "<u4"),
                    ("addralign", "<u4"), ("entsize", "<u4")])


@dataclass(frozen=True, slots=True)
class ElfHeaders:
    path: str
    data: memoryview
    elf_class: int
    arch: str
    e_type: int
    shdrs: np.ndarray  # structured, one row per section header
    names: list[str]  # section names, from e_shstrndx
    # The same headers as Python tuples (name, type, flags, addr, offset, size, link, info,
    # addralign, entsize): a reader walking a dozen headers pays microseconds per field of
    # a numpy structured row, nanoseconds per tuple item.
    rows: list[tuple[int, ...]]

    @property
    def is64(self) -> bool:
        return self.elf_class == ELFCLASS64

    def section_bytes(self, index: int) -> memoryview:
        _name, sh_type, _flags, _addr, start, size = self.rows[index][:6]
        if sh_type == SHT_NOBITS:
            return memoryview(b"")
        return self.data[start:start + size]

    def error(self, rule: str, index: int | None = None, offset: int | None = None,
              symbol: str | None = None) -> LinkError:
        section = None
        if index is not None:
            section = self.names[index] if 0 <= index < len(self.names) and self.names[index] \
                else f"[{index}]"
        return LinkError(rule, file=self.path, section=section, offset=offset, symbol=symbol)


class Strings:
    """A string table (.strtab, .dynstr): NUL-terminated names by offset, decoded once each."""

    def __init__(self, table: bytes) -> None:
        self.table = table
        self._cache: dict[int, str] = {}

    def get(self, offset: int) -> str | None:
        """The name at `offset`, or None when the offset is outside the table."""
        name = self._cache.get(offset)
        if name is None:
            end = self.table.find(b"\0", offset)
            if offset >= len(self.table) or end < 0:
                return None
            name = self.table[offset:end].decode("utf-8", "surrogateescape")
            self._cache[offset] = name
        return name


def read_headers(data: memoryview, path: str) -> ElfHeaders:
    """Parse and validate the ELF header and section header table of `data`."""
    size = len(data)
    if size < 52:
        raise LinkError(f"truncated ELF header ({size} bytes)", file=path, offset=0)
    elf_class, encoding = data[4], data[5]
    if encoding != ELFDATA2LSB:
        raise LinkError("not a little-endian ELF file (EI_DATA)", file=path, offset=5)
    if elf_class == ELFCLASS64:
        if size < 64:
            raise LinkError(f"truncated ELF64 header ({size} bytes)", file=path, offset=0)
        (e_type, machine, _v, _entry, _phoff, shoff, _flags, _ehsize, _phentsize, _phnum,
         shentsize, shnum, shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
        dtype = _SHDR64
    elif elf_class == ELFCLASS32:
        (e_type, machine, _v, _entry, _phoff, shoff, _flags, _ehsize, _phentsize, _phnum,
         shentsize, shnum, shstrndx) = struct.unpack_from("<HHIIIIIHHHHHH", data, 16)
        dtype = _SHDR32
    else:
        raise LinkError(f"bad ELF class {elf_class} (EI_CLASS)", file=path, offset=4)
    arch = ARCH_OF_MACHINE.get((elf_class, machine))
    if arch is None:
        raise LinkError(f"unsupported ELF machine {machine} for class {elf_class} "
                        "(want EM_X86_64 ELF64 or EM_386 ELF32)", file=path, offset=18)
    if shoff == 0:  # no section headers (allowed for ET_DYN, refused later for ET_REL)
        return ElfHeaders(path, data, elf_class, arch, e_type, np.zeros(0, dtype), [], [])
    if shentsize != dtype.itemsize:
        raise LinkError(f"e_shentsize {shentsize}, expected {dtype.itemsize}", file=path,
                        offset=0x3A if elf_class == ELFCLASS64 else 0x2E)
    if shnum == 0 or shstrndx == 0xFFFF:  # extended numbering: counts live in section 0
        if shoff + dtype.itemsize > size:
            raise LinkError("section header table past end of file", file=path, offset=shoff)
        first = np.frombuffer(data, dtype, 1, shoff)[0]
        shnum = shnum or int(first["size"])
        if shstrndx == 0xFFFF:
            shstrndx = int(first["link"])
    if shoff + shnum * dtype.itemsize > size:
        raise LinkError(f"section header table ({shnum} entries at {shoff:#x}) past end of "
                        f"file ({size:#x} bytes)", file=path, offset=shoff)
    shdrs = np.frombuffer(data, dtype, shnum, shoff)
    rows = list(struct.iter_unpack(_ROW64 if elf_class == ELFCLASS64 else _ROW32,
                                   data[shoff:shoff + shnum * dtype.itemsize]))
    _check_bounds(rows, size, path, shoff, dtype.itemsize)
    if not 0 <= shstrndx < shnum:
        raise LinkError(f"e_shstrndx {shstrndx} out of range (0..{shnum - 1})", file=path,
                        offset=shoff)
    _n, _t, _f, _a, start, length = rows[shstrndx][:6]
    names = list(_section_names(bytes(data[start:start + length]),
                                tuple(row[0] for row in rows), path))
    return ElfHeaders(path, data, elf_class, arch, e_type, shdrs, names, rows)


_ROW64, _ROW32 = "<IIQQQQIIQQ", "<IIIIIIIIII"


def _check_bounds(rows: list[tuple[int, ...]], size: int, path: str, shoff: int,
                  entsize: int) -> None:
    for i, (_name, sh_type, _flags, _addr, offset, length, _link, _info, align,
            _entsize) in enumerate(rows):
        if sh_type != SHT_NOBITS and offset + length > size:
            raise LinkError(f"section [{i}] data (offset {offset:#x}, size {length:#x}) "
                            f"runs past end of file ({size:#x} bytes)",
                            file=path, offset=shoff + i * entsize)
        if align & (align - 1) and align > 1:
            raise LinkError(f"section [{i}] alignment {align} is not a power of two",
                            file=path, offset=shoff + i * entsize)


def _section_names(table: bytes, offsets: tuple[int, ...], path: str) -> tuple[str, ...]:
    names = _decoded_names(table, offsets)
    if isinstance(names, int):
        raise LinkError(f"section [{names}] name offset {offsets[names]:#x} outside .shstrtab",
                        file=path, section=f"[{names}]")
    return names


@functools.lru_cache(maxsize=64)
def _decoded_names(table: bytes, offsets: tuple[int, ...]) -> tuple[str, ...] | int:
    """The names, decoded once per distinct table and offsets (the objects of one large
    build mostly share their .shstrtab byte for byte); or the index of the first name
    outside the table."""
    names: list[str] = []
    for i, off in enumerate(offsets):
        end = table.find(b"\0", off)
        if off >= len(table) or end < 0:
            if i == 0 and off == 0:
                names.append("")
                continue
            return i
        names.append(table[off:end].decode("utf-8", "surrogateescape"))
    return tuple(names)
