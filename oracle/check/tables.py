"""Decoded record tables: the dynamic array, symbol tables and string tables.

Each table is read in bulk with `struct.iter_unpack` from a bounds-checked slice, and is
cached per image so that the rules that share it decode it once.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from oracle.check import consts as c
from oracle.check.image import ElfImage, Malformed, Section, per_image
from oracle.records import quick_init


@quick_init
@dataclass(frozen=True)
class Symbol:
    index: int
    name: str
    value: int
    size: int
    info: int
    other: int
    shndx: int

    @property
    def type(self) -> int:
        return self.info & 0xF

    @property
    def bind(self) -> int:
        return self.info >> 4


def cstr(blob: bytes, offset: int) -> str | None:
    """The NUL-terminated string at offset, or None if it is out of range or unterminated."""
    if not 0 <= offset < len(blob):
        return None
    end = blob.find(b"\0", offset)
    return None if end < 0 else blob[offset:end].decode("latin-1")


@per_image
def dynamic(img: ElfImage) -> tuple[tuple[int, int], ...]:
    """(tag, value) pairs of the dynamic array up to DT_NULL; () for a static file.  Read
    through PT_DYNAMIC, as ld.so does; the .dynamic section only when there is none."""
    seg = next((s for s in img.segments if s.type == c.PT_DYNAMIC), None)
    if seg is not None:
        off, size = seg.offset, seg.filesz
    else:
        sec = img.section(".dynamic")
        if sec is None or sec.type != c.SHT_DYNAMIC:
            return ()
        off, size = sec.offset, sec.size
    rows = img.table("qQ" if img.is64 else "iI", off, size, ".dynamic")
    out = []
    for tag, val in rows:
        if tag == c.DT_NULL:
            break
        out.append((tag, val))
    return tuple(out)


def dyn_value(img: ElfImage, tag: int) -> int | None:
    """The first value of a dynamic tag, or None when absent."""
    return _first_values(img).get(tag)


@per_image
def _first_values(img: ElfImage) -> dict[int, int]:
    """Tag -> its first value, built once per image: rules ask for tags about ninety times
    an image, each a walk of the array."""
    first: dict[int, int] = {}
    for tag, value in dynamic(img):
        first.setdefault(tag, value)
    return first


def bind_now(img: ElfImage) -> bool:
    flags = dyn_value(img, c.DT_FLAGS) or 0
    flags1 = dyn_value(img, c.DT_FLAGS_1) or 0
    return bool(flags & c.DF_BIND_NOW or flags1 & c.DF_1_NOW
                or dyn_value(img, c.DT_BIND_NOW) is not None)


@per_image
def symbols(img: ElfImage, sec: Section) -> tuple[Symbol, ...]:
    """The symbols of a SHT_SYMTAB/SHT_DYNSYM section, names resolved through sh_link."""
    names = b""
    if 0 < sec.link < len(img.sections):
        names = img.section_bytes(img.sections[sec.link])
    return _decode_symbols(img, sec.offset, sec.file_size, names, sec.name)


def _decode_symbols(img: ElfImage, offset: int, size: int, names: bytes,
                    label: str) -> tuple[Symbol, ...]:
    fmt = "IBBHQQ" if img.is64 else "IIIBBH"
    out = []
    for i, row in enumerate(img.table(fmt, offset, size, label)):
        if img.is64:
            name, info, other, shndx, value, sym_size = row
        else:
            name, value, sym_size, info, other, shndx = row
        out.append(Symbol(i, cstr(names, name) or "", value, sym_size, info, other, shndx))
    return tuple(out)


def defined_symbols(img: ElfImage, name: str) -> list[Symbol]:
    """Defined symbols called `name` in .symtab (or .dynsym), in table order."""
    out = []
    for sec in img.sections_of_type(c.SHT_SYMTAB) + img.sections_of_type(c.SHT_DYNSYM):
        out += [s for s in symbols(img, sec) if s.name == name and s.shndx != c.SHN_UNDEF]
    return out


@per_image
def dynsym(img: ElfImage) -> tuple[Symbol, ...]:
    """The dynamic symbols: the SHT_DYNSYM section, or, in a file without section headers,
    DT_SYMTAB with the count ld.so would infer from the hash table."""
    sec = next(iter(img.sections_of_type(c.SHT_DYNSYM)), None)
    if sec is not None:
        return symbols(img, sec)
    addr, strtab, strsz = (dyn_value(img, t) for t in (c.DT_SYMTAB, c.DT_STRTAB, c.DT_STRSZ))
    count = _count_from_hash(img)
    if img.sections or addr is None or strtab is None or strsz is None or count is None:
        return ()
    ent = 24 if img.is64 else 16
    fake_names = mapped_section(img, strtab, strsz, c.SHT_STRTAB, "DT_STRTAB")
    names = img.section_bytes(fake_names)
    table = mapped_section(img, addr, count * ent, c.SHT_DYNSYM, "DT_SYMTAB")
    return _decode_symbols(img, table.offset, table.size, names, "DT_SYMTAB")


def mapped_section(img: ElfImage, addr: int, size: int, sh_type: int, label: str) -> Section:
    """A stand-in section header for a table known only by its address."""
    seg = img.load_at(addr, size)
    if seg is None or not seg.covers_file(addr, size):
        raise Malformed(label, f"[{addr:#x}, +{size:#x}) is not in the file image of a PT_LOAD")
    return Section(-1, label, sh_type, c.SHF_ALLOC, addr, seg.offset + addr - seg.vaddr, size,
                   0, 0, 0, 0)


def _count_from_hash(img: ElfImage) -> int | None:
    """The number of dynamic symbols as ld.so sees it: DT_HASH's nchain, or one past the
    last symbol a DT_GNU_HASH chain reaches."""
    order = "<" if img.endian == "<" else ">"
    addr = dyn_value(img, c.DT_HASH)
    if addr is not None and (raw := img.read_vaddr(addr + 4, 4)) is not None:
        return int(struct.unpack(order + "I", raw)[0])
    addr = dyn_value(img, c.DT_GNU_HASH)
    head = img.read_vaddr(addr, 16) if addr is not None else None
    if addr is None or head is None:
        return None
    nbuckets, symoffset, bloom_size, _ = struct.unpack(order + "4I", head)
    buckets_at = addr + 16 + bloom_size * img.word
    raw = img.read_vaddr(buckets_at, 4 * nbuckets)
    if raw is None:
        return None
    last = max(struct.unpack(f"{order}{nbuckets}I", raw), default=0)
    if last < symoffset:
        return symoffset
    chain_at = buckets_at + 4 * nbuckets - 4 * symoffset
    limit = len(img.data) // 4
    for i in range(last, last + limit):
        word = img.read_vaddr(chain_at + 4 * i, 4)
        if word is None:
            return None
        if struct.unpack(order + "I", word)[0] & 1:
            return i + 1
    return None


def section_by_addr(img: ElfImage, addr: int, types: tuple[int, ...] = ()) -> Section | None:
    """The allocated section starting at addr (of one of `types` when given); a non-empty
    one when there are several (an empty .rela.dyn may share .rela.plt's address)."""
    found = [s for s in img.sections_starting_at(addr) if not types or s.type in types]
    return max(found, key=lambda s: s.size > 0, default=None)
