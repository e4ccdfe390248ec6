"""A bounds-checked view of an ELF file: header, program headers, section headers.

Every read goes through `ElfImage.bytes_at`, which raises `Malformed` instead of reading
past the end of the file, so a hostile size can never make the checker allocate more than
the file itself or walk off into an exception it did not expect.
"""

from __future__ import annotations

import bisect
import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np

from oracle.check import consts as c
from oracle.elf_records import SectionHeader
from oracle.records import quick_init

P = ParamSpec("P")
R = TypeVar("R")

# Decoding may read each byte of the file a few times (several rules, several views), but a
# hostile file whose headers all point at one big region must not multiply the work.
READ_BUDGET_FACTOR = 4
READ_BUDGET_SLACK = 1 << 20

# The kernel refuses a program header table larger than this (binfmt_elf load_elf_phdrs).
MAX_PHDR_TABLE = 65536
U64_MAX = (1 << 64) - 1


_UNSET = object()


def per_image(func: Callable[P, R]) -> Callable[P, R]:
    """Memoise a table decoder on the image it reads (its first argument), so rules share
    one decoding without a global cache keeping files alive."""

    name = func.__qualname__

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        img = args[0]
        assert isinstance(img, ElfImage)
        key = (name, args[1:], tuple(kwargs.items())) if kwargs else (name, args[1:])
        found = img.memo.get(key, _UNSET)
        if found is _UNSET:
            found = img.memo[key] = func(*args, **kwargs)
        return found

    return wrapper


class AddressIndex:
    """Address ranges [start, end) searchable in one vectorised pass, so that a file with
    tens of thousands of sections or segments costs milliseconds per lookup, not seconds."""

    SMALL = 64  # below this a plain loop beats numpy's per-call overhead

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.ranges = ranges
        # In ascending order and not overlapping (what linkers write), a non-empty span
        # lies in at most one range, the last one starting at or before it: one bisect.
        self._starts = [a for a, _ in ranges]
        self._disjoint = all(a <= b for a, b in ranges) and all(
            b <= next_a for (_, b), (next_a, _) in itertools.pairwise(ranges))
        self.starts = np.array([min(a, U64_MAX) for a, _ in ranges], dtype=np.uint64)
        self.ends = np.array([min(b, U64_MAX) for _, b in ranges], dtype=np.uint64)

    def covering(self, start: int, size: int, limit: int = 2) -> list[int]:
        """Indices (ascending) of the first `limit` ranges holding all of
        [start, start+max(size,1)); two are enough to tell "one" from "several"."""
        end = start + max(size, 1)
        if self._disjoint and (len(self.ranges) <= self.SMALL or end <= U64_MAX):
            i = bisect.bisect_right(self._starts, start) - 1
            return [i] if i >= 0 and end <= self.ranges[i][1] and limit > 0 else []
        if len(self.ranges) <= self.SMALL:
            found = [i for i, (a, b) in enumerate(self.ranges) if a <= start and end <= b]
            return found[:limit]
        if start > U64_MAX or end > U64_MAX:
            return []
        hit = (self.starts <= np.uint64(start)) & (self.ends >= np.uint64(end))
        return [int(i) for i in np.flatnonzero(hit)[:limit]]


class Malformed(Exception):
    """The file cannot be read at some place; reported as an ELF-PARSE violation."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


@dataclass(frozen=True)
class Header:
    elf_class: int
    data: int
    version: int
    osabi: int
    type: int
    machine: int
    e_version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


@quick_init
@dataclass(frozen=True)
class Segment:
    index: int
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def name(self) -> str:
        return f"{SEGMENT_NAMES.get(self.type, hex(self.type))}[{self.index}]"

    def covers(self, vaddr: int, size: int = 1) -> bool:
        """True when [vaddr, vaddr+size) lies in the segment's memory image."""
        return self.vaddr <= vaddr and vaddr + max(size, 1) <= self.vaddr + self.memsz

    def covers_file(self, vaddr: int, size: int = 1) -> bool:
        """True when [vaddr, vaddr+size) is backed by file bytes of this segment."""
        return self.vaddr <= vaddr and vaddr + max(size, 1) <= self.vaddr + self.filesz


class Section(SectionHeader):
    """A section header with the checker's views of it."""

    @property
    def file_size(self) -> int:
        """Bytes the section occupies in the file (SHT_NOBITS occupies none)."""
        return 0 if self.type == c.SHT_NOBITS else self.size

    def holds(self, vaddr: int, size: int = 1) -> bool:
        return self.addr <= vaddr and vaddr + max(size, 1) <= self.addr + self.size


SEGMENT_NAMES = {
    c.PT_NULL: "PT_NULL", c.PT_LOAD: "PT_LOAD", c.PT_DYNAMIC: "PT_DYNAMIC",
    c.PT_INTERP: "PT_INTERP", c.PT_NOTE: "PT_NOTE", c.PT_PHDR: "PT_PHDR", c.PT_TLS: "PT_TLS",
    c.PT_GNU_EH_FRAME: "PT_GNU_EH_FRAME", c.PT_GNU_STACK: "PT_GNU_STACK",
    c.PT_GNU_RELRO: "PT_GNU_RELRO",
}

_EHDR = {c.ELFCLASS32: "16sHHIIIIIHHHHHH", c.ELFCLASS64: "16sHHIQQQIHHHHHH"}
_PHDR = {c.ELFCLASS32: "IIIIIIII", c.ELFCLASS64: "IIQQQQQQ"}
_SHDR = {c.ELFCLASS32: "IIIIIIIIII", c.ELFCLASS64: "IIQQQQIIQQ"}


class ElfImage:
    """An ELF file's bytes plus its decoded header tables."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.memo: dict[Any, Any] = {}
        self._loads_at: dict[tuple[int, int], Segment | None] = {}
        self.budget = READ_BUDGET_FACTOR * len(data) + READ_BUDGET_SLACK
        if len(data) < 16 or data[:4] != c.ELF_MAGIC:
            raise Malformed("e_ident", "no ELF magic")
        elf_class, data_enc = data[4], data[5]
        if elf_class not in _EHDR:
            raise Malformed("e_ident[EI_CLASS]", f"unknown class {elf_class}")
        if data_enc not in (c.ELFDATA2LSB, c.ELFDATA2MSB):
            raise Malformed("e_ident[EI_DATA]", f"unknown data encoding {data_enc}")
        self.is64 = elf_class == c.ELFCLASS64
        self.word = 8 if self.is64 else 4
        self.endian = "<" if data_enc == c.ELFDATA2LSB else ">"
        fields = self.unpack(_EHDR[elf_class], 0, "ELF header")
        self.header = Header(elf_class, data_enc, data[6], data[7], *fields[1:])

    # -- raw access ------------------------------------------------------------------

    def bytes_at(self, offset: int, size: int, where: str) -> bytes:
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise Malformed(where, f"[{offset:#x}, +{size:#x}) runs past end of file "
                                   f"({len(self.data):#x} bytes)")
        self.budget -= size
        if self.budget < 0:
            raise Malformed(where, "headers make the checker re-read the file too many times "
                                   "(overlapping tables?); stopped")
        return self.data[offset:offset + size]

    def unpack(self, fmt: str, offset: int, where: str) -> tuple[Any, ...]:
        fmt = self.endian + fmt
        return struct.unpack(fmt, self.bytes_at(offset, struct.calcsize(fmt), where))

    def table(self, fmt: str, offset: int, size: int, where: str) -> list[tuple[int, ...]]:
        """Fixed-size records in bulk; a trailing partial record is ignored."""
        fmt = self.endian + fmt
        rec = struct.calcsize(fmt)
        raw = self.bytes_at(offset, size - size % rec, where)
        return list(struct.iter_unpack(fmt, raw))

    def fmt_word(self) -> str:
        return "Q" if self.is64 else "I"

    # -- headers -----------------------------------------------------------------------

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        h = self.header
        if h.phnum == 0:
            return ()
        fmt = _PHDR[h.elf_class]
        if h.phentsize != struct.calcsize(fmt):
            raise Malformed("e_phentsize", f"{h.phentsize} is not the size of a program header")
        if h.phnum * h.phentsize > MAX_PHDR_TABLE:
            raise Malformed("e_phnum", f"{h.phnum} program headers exceed the {MAX_PHDR_TABLE} "
                                       "bytes the kernel reads")
        rows = self.table(fmt, h.phoff, h.phnum * h.phentsize, "program headers")
        out = []
        for i, r in enumerate(rows):
            if self.is64:
                ptype, flags, off, va, pa, fsz, msz, align = r
            else:
                ptype, off, va, pa, fsz, msz, flags, align = r
            out.append(Segment(i, ptype, flags, off, va, pa, fsz, msz, align))
        return tuple(out)

    @cached_property
    def sections(self) -> tuple[Section, ...]:
        h = self.header
        if h.shoff == 0 or h.shnum == 0:
            return ()
        fmt = _SHDR[h.elf_class]
        if h.shentsize != struct.calcsize(fmt):
            raise Malformed("e_shentsize", f"{h.shentsize} is not the size of a section header")
        rows = self.table(fmt, h.shoff, h.shnum * h.shentsize, "section headers")
        names = b""
        if 0 < h.shstrndx < len(rows):
            strtab = rows[h.shstrndx]
            if strtab[1] != c.SHT_NOBITS:
                names = self.bytes_at(strtab[4], strtab[5], "section name table")
        out = []
        for i, (name, *rest) in enumerate(rows):
            end = names.find(b"\0", name)
            text = names[name:end].decode("latin-1") if 0 <= name < len(names) and end >= 0 \
                else f"<section {i}>"
            out.append(Section(i, text, *rest))
        return tuple(out)

    @cached_property
    def loads(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.type == c.PT_LOAD)

    @cached_property
    def _load_index(self) -> AddressIndex:
        return AddressIndex([(s.vaddr, s.vaddr + s.memsz) for s in self.loads])

    @cached_property
    def mapped_sections(self) -> tuple[Section, ...]:
        """Allocated, non-empty sections that occupy memory of their own (.tbss does not:
        its addresses only describe the TLS image, and overlap what follows it)."""
        return tuple(s for s in self.sections if s.flags & c.SHF_ALLOC and s.size
                     and not (s.flags & c.SHF_TLS and s.type == c.SHT_NOBITS))

    @cached_property
    def _section_index(self) -> AddressIndex:
        return AddressIndex([(s.addr, s.addr + s.size) for s in self.mapped_sections])

    @cached_property
    def _sections_by_start(self) -> dict[int, list[Section]]:
        out: dict[int, list[Section]] = {}
        for s in self.sections:
            if s.flags & c.SHF_ALLOC:
                out.setdefault(s.addr, []).append(s)
        return out

    # -- lookups -------------------------------------------------------------------------

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def sections_of_type(self, sh_type: int) -> list[Section]:
        return [s for s in self.sections if s.type == sh_type]

    def sections_starting_at(self, addr: int) -> list[Section]:
        """Allocated sections whose sh_addr is addr, in header order."""
        return self._sections_by_start.get(addr, [])

    def loads_covering(self, vaddr: int, size: int = 1) -> list[Segment]:
        return [self.loads[i] for i in self._load_index.covering(vaddr, size)]

    def load_at(self, vaddr: int, size: int = 1) -> Segment | None:
        key = (vaddr, size)  # rules ask again about the same places (symbols, slots, tables)
        if key not in self._loads_at:
            hits = self._load_index.covering(vaddr, size, limit=1)
            self._loads_at[key] = self.loads[hits[0]] if hits else None
        return self._loads_at[key]

    def section_at(self, vaddr: int) -> Section | None:
        """The allocated, non-empty section holding vaddr (not TLS .tbss, which is not mapped)."""
        hits = self._section_index.covering(vaddr, 1, limit=1)
        return self.mapped_sections[hits[0]] if hits else None

    def where(self, vaddr: int) -> str:
        """Name an address as section+offset when a section holds it."""
        s = self.section_at(vaddr)
        return f"{s.name}+{vaddr - s.addr:#x}" if s else f"{vaddr:#x}"

    def read_vaddr(self, vaddr: int, size: int) -> bytes | None:
        """Initial memory contents at vaddr as the kernel would map them, or None if the
        range is not wholly inside one PT_LOAD.  The zero-filled tail reads as zeros; a range
        larger than the file is refused (no real table is, and a hostile size must not make
        the checker allocate it)."""
        seg = self.load_at(vaddr, size) if size <= len(self.data) else None
        if seg is None:
            return None
        start = vaddr - seg.vaddr
        file_part = max(0, min(size, seg.filesz - start))
        raw = self.bytes_at(seg.offset + start, file_part, seg.name) if file_part else b""
        return raw + bytes(size - file_part)

    def word_at(self, vaddr: int) -> int | None:
        raw = self.read_vaddr(vaddr, self.word)
        if raw is None:
            return None
        return int.from_bytes(raw, "little" if self.endian == "<" else "big")

    def section_bytes(self, sec: Section) -> bytes:
        if sec.type == c.SHT_NOBITS:
            return b""
        return self.bytes_at(sec.offset, sec.size, sec.name)
