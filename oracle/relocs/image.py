"""The linked output as the oracle reads it: memory by address, symbols, dynamic relocations.

Everything here comes from the output file alone (read by elf_file.py).  Local symbols are grouped
by the STT_FILE symbol that precedes them, which is how GNU ld, gold, lld and mold keep
apart two `static int helper` from two objects.
"""

from __future__ import annotations

import bisect
import struct
from collections import defaultdict
from dataclasses import dataclass, field

from oracle.records import quick_init

from . import tables
from .binding import LinkOptions
from .elf_file import (
    ET_DYN,
    PT_TLS,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_TLS,
    SHT_DYNAMIC,
    SHT_DYNSYM,
    SHT_GNU_VERNEED,
    SHT_GNU_VERSYM,
    SHT_REL,
    SHT_RELA,
    SHT_RELR,
    SHT_SYMTAB,
    ElfFile,
    read_elf,
)

DT_PLTGOT = 3

# Dynamic relocation numbers, per machine: the ones whose slot stands for a symbol.
_SLOT_TYPES = {"x86_64": {6: "GLOB_DAT", 7: "JUMP_SLOT", 1: "64", 37: "IRELATIVE",
                          18: "TPOFF", 8: "RELATIVE", 16: "DTPMOD", 17: "DTPOFF", 2: "PC"},
               "i386": {6: "GLOB_DAT", 7: "JUMP_SLOT", 1: "32", 42: "IRELATIVE",
                        14: "TPOFF", 37: "TPOFF", 8: "RELATIVE", 35: "DTPMOD", 36: "DTPOFF",
                        2: "PC"}}
PT_INTERP = 3
DT_FLAGS, DT_FLAGS_1, DT_SYMBOLIC = 30, 0x6FFFFFFB, 16
DF_SYMBOLIC, DF_1_PIE = 0x2, 0x08000000


@quick_init
@dataclass(frozen=True)
class OutSection:
    name: str
    addr: int
    size: int
    flags: int
    nobits: bool
    data: bytes

    @property
    def executable(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def tls_nobits(self) -> bool:
        """.tbss: its addresses are a TLS template's, overlapping the sections after it."""
        return self.nobits and bool(self.flags & SHF_TLS)

    def contains(self, addr: int, n: int = 1) -> bool:
        return self.addr <= addr and addr + n <= self.addr + self.size


@quick_init
@dataclass(frozen=True)
class OutSymbol:
    name: str
    value: int
    size: int
    type: str
    bind: str
    defined: bool


@quick_init
@dataclass(frozen=True)
class DynReloc:
    offset: int
    kind: str  # "GLOB_DAT", "JUMP_SLOT", "64"/"32", "PC", "IRELATIVE", "TPOFF", "DTPMOD",
    # "DTPOFF", "RELATIVE", "other"
    symbol: str
    addend: int | None  # None for REL
    version: str = ""  # the needed version the symbol is bound to (.gnu.version_r), if any


@dataclass
class OutputImage:
    path: str
    machine: str
    word: int
    sections: list[OutSection]
    globals: dict[str, OutSymbol] = field(default_factory=dict)
    file_groups: list[tuple[str, dict[str, list[OutSymbol]]]] = field(default_factory=list)
    locals: dict[str, list[OutSymbol]] = field(default_factory=lambda: defaultdict(list))
    dynrelocs: list[DynReloc] = field(default_factory=list)
    relocatable: bool = False  # ET_DYN (a PIE): loaded at a base chosen at run time
    pltgot: int | None = None
    tls: tuple[int, int, int] | None = None  # PT_TLS (vaddr, memsz, align)
    # A shared library (ET_DYN, neither PT_INTERP nor DF_1_PIE): its exported symbols of
    # default visibility can be interposed, unless it was linked -Bsymbolic (DT_SYMBOLIC).
    shared: bool = False
    symbolic: bool = False
    # the link options that bind exports locally without a mark (oracle/relocs/binding.py)
    binding: LinkOptions = field(default_factory=LinkOptions)
    exported_default: set[str] = field(default_factory=set)  # .dynsym, defined, STV_DEFAULT
    _by_symbol: dict[str, list[DynReloc]] | None = field(default=None, repr=False)
    _by_offset: dict[int, list[DynReloc]] | None = field(default=None, repr=False)
    _starts: list[int] | None = field(default=None, repr=False)
    _functions: list[int] | None = field(default=None, repr=False)
    _sorted: list[OutSection] = field(default_factory=list, repr=False)
    _got_words: dict[int, list[int]] | None = field(default=None, repr=False)
    _relative_got: dict[int, list[int]] | None = field(default=None, repr=False)

    def section_at(self, addr: int, n: int = 1, tls: bool = False) -> OutSection | None:
        """The section holding [addr, addr + n); .tbss only when `tls` is asked for."""
        if tls:
            found = next((s for s in self.sections if s.tls_nobits and s.contains(addr, n)),
                         None)
            if found is not None:
                return found
        if self._starts is None:  # sections by address; .tbss overlaps and is left out
            self._sorted = sorted((s for s in self.sections if s.size and not s.tls_nobits),
                                  key=lambda s: s.addr)
            self._starts = [s.addr for s in self._sorted]
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and self._sorted[i].contains(addr, n):
            return self._sorted[i]
        return None

    def read(self, addr: int, n: int) -> bytes | None:
        """`n` bytes at `addr`, or None when they are not all inside one section."""
        sec = self.section_at(addr, n)
        if sec is None:
            return None
        if sec.nobits:
            return bytes(n)
        off = addr - sec.addr
        return sec.data[off:off + n]

    def preemptible(self, name: str) -> bool:
        """Whether another object can interpose `name` at run time, so that references to
        it from this output must go through a dynamic relocation naming it."""
        if not self.shared or self.symbolic or name not in self.exported_default:
            return False
        sym = self.globals.get(name)
        return self.binding.preemptible(name, sym.type if sym is not None else "STT_NOTYPE")

    def section_named(self, name: str) -> OutSection | None:
        return next((s for s in self.sections if s.name == name), None)

    def got_base_candidates(self) -> list[int]:
        """Addresses a linker may use as GOT, most conventional first.

        _GLOBAL_OFFSET_TABLE_, DT_PLTGOT, the start of .got.plt, the start of .got: GNU ld
        and lld use .got.plt, while mold (i386) computes GOTPC/GOTOFF/GOT32 from .got.
        """
        found: list[int] = []
        sym = self.globals.get("_GLOBAL_OFFSET_TABLE_")
        if sym is None and self.locals.get("_GLOBAL_OFFSET_TABLE_"):
            sym = self.locals["_GLOBAL_OFFSET_TABLE_"][0]
        if sym is not None:
            found.append(sym.value)
        if self.pltgot is not None:
            found.append(self.pltgot)
        for name in (".got.plt", ".got"):
            sec = self.section_named(name)
            if sec is not None:
                found.append(sec.addr)
        return list(dict.fromkeys(found))

    @property
    def thread_pointer(self) -> int | None:
        """TP as x86 (TLS variant II) sees it: the TLS block ends there, so a variable's
        offset from TP is its address minus this.  None without a PT_TLS segment."""
        if self.tls is None:
            return None
        vaddr, memsz, align = self.tls
        align = max(align, 1)
        return vaddr + (memsz + align - 1) // align * align

    @property
    def got_base(self) -> int | None:
        candidates = self.got_base_candidates()
        return candidates[0] if candidates else None

    def slots_of(self, symbol: str, kinds: tuple[str, ...], version: str = "") -> list[int]:
        """Slots of `symbol` (of `version` only, when one is asked for: a reference pinned
        with `.symver name, name@V` must reach V, not the default version)."""
        if self._by_symbol is None:
            self._by_symbol = defaultdict(list)
            for r in self.dynrelocs:
                self._by_symbol[r.symbol].append(r)
        return [r.offset for r in self._by_symbol.get(symbol, [])
                if r.kind in kinds and (not version or r.version == version)]

    def function_start(self, addr: int) -> int | None:
        """The greatest FUNC symbol value <= addr: an instruction boundary to decode from."""
        if self._functions is None:
            values = {s.value for s in self.globals.values() if s.type == "STT_FUNC"}
            values.update(s.value for group in self.locals.values() for s in group
                          if s.type == "STT_FUNC")
            self._functions = sorted(v for v in values if v)
        i = bisect.bisect_right(self._functions, addr) - 1
        return self._functions[i] if i >= 0 else None

    def dynamic_at(self, addr: int) -> list[DynReloc]:
        """The dynamic relocations that patch the word at `addr`."""
        if self._by_offset is None:
            self._by_offset = defaultdict(list)
            for r in self.dynrelocs:
                self._by_offset[r.offset].append(r)
        return self._by_offset.get(addr, [])

    def got_words(self) -> dict[int, list[int]]:
        """Value -> addresses of the `.got*` words holding it (statically resolved slots)."""
        if self._got_words is None:
            words: dict[int, list[int]] = defaultdict(list)
            fmt = "<Q" if self.word == 8 else "<I"
            for sec in self.sections:
                if sec.name.startswith(".got") and not sec.nobits:
                    usable = sec.data[:len(sec.data) - len(sec.data) % self.word]
                    for i, (value,) in enumerate(struct.iter_unpack(fmt, usable)):
                        words[value].append(sec.addr + i * self.word)
            self._got_words = words
        return self._got_words

    def relative_got_words(self) -> dict[int, list[int]]:
        """Value -> `.got*` words a RELATIVE relocation with that addend fills (a PIE's GOT
        slots of its own symbols: lld leaves the word 0 and puts the value in the RELA
        addend).  REL slots hold their value in the word: got_words finds them."""
        if self._relative_got is None:
            found: dict[int, list[int]] = defaultdict(list)
            for r in self.dynrelocs:
                if r.kind == "RELATIVE" and r.addend is not None:
                    sec = self.section_at(r.offset, self.word)
                    if sec is not None and sec.name.startswith(".got"):
                        found[r.addend].append(r.offset)
            self._relative_got = found
        return self._relative_got

    def ifunc_slots(self, resolvers: tuple[int, ...]) -> list[int]:
        """Slots an IRELATIVE relocation fills by calling one of `resolvers`.

        The resolver is the RELA addend, or for REL (i386) the word already in the slot.
        """
        found = []
        for r in self.dynrelocs:
            if r.kind != "IRELATIVE":
                continue
            if r.addend is not None:
                resolver = r.addend
            else:
                word = self.read(r.offset, self.word)
                resolver = int.from_bytes(word, "little") if word is not None else -1
            if resolver in resolvers:
                found.append(r.offset)
        return found


def base_name(name: str) -> str:
    """`puts@GLIBC_2.2.5` and `puts@@V` name `puts` (GNU ld writes versions into .symtab)."""
    return name.split("@", 1)[0]


def read_image(path: str) -> OutputImage:
    return image_of(read_elf(path))


def image_of(elf: ElfFile) -> OutputImage:
    """The linked output `elf` as the oracle reads it."""
    machine = elf.machine
    if machine is None:
        raise ValueError(f"{elf.path}: unsupported machine {elf.e_machine}")
    for sec in elf.sections:
        if not sec.nobits and sec.offset + sec.size > len(elf.data):
            raise ValueError(f"{elf.path}: section {sec.name} ({sec.size:#x} bytes at "
                             f"{sec.offset:#x}) runs past the end of the file")
    sections = [OutSection(sec.name, sec.addr, sec.size, sec.flags, sec.nobits,
                           elf.contents(sec))
                for sec in elf.sections if sec.flags & SHF_ALLOC]
    image = OutputImage(elf.path, machine, 8 if machine == "x86_64" else 4, sections,
                        relocatable=elf.type == ET_DYN)
    interp = False
    for seg in elf.segments:
        if seg.type == PT_TLS:
            image.tls = (seg.vaddr, seg.memsz, seg.align)
        interp = interp or seg.type == PT_INTERP
    _read_symbols(elf, image)
    flags = _read_dynamic(elf, image)
    image.exported_default = _exported_default(elf)
    image.shared = image.relocatable and not interp and not flags.get(DT_FLAGS_1, 0) & DF_1_PIE
    image.symbolic = DT_SYMBOLIC in flags or bool(flags.get(DT_FLAGS, 0) & DF_SYMBOLIC)
    return image


def _table(elf: ElfFile, index: int) -> tuple[bytes, bytes]:
    """(the symbol table's bytes, its string table's bytes)."""
    sec = elf.section(index)
    return elf.contents(sec), elf.contents(elf.section(sec.link))


# The last file's decoded symbol tables, by section index (the file is held, so that a
# new file never meets its id).
_DECODED: list[tuple[ElfFile, dict[int, list[tables.RawSymbol]]]] = []


def _symbols(elf: ElfFile, index: int) -> list[tables.RawSymbol]:
    """The symbol table at section `index`, decoded once per file read: .dynsym is read
    for the symbols, for each dynamic relocation section and for the exports."""
    if not _DECODED or _DECODED[0][0] is not elf:
        _DECODED[:] = [(elf, {})]
    decoded = _DECODED[0][1]
    if index not in decoded:
        decoded[index] = list(tables.symbols(*_table(elf, index), elf.is64))
    return decoded[index]


def _read_symbols(elf: ElfFile, image: OutputImage) -> None:
    for table_name in (".symtab", ".dynsym"):
        table = elf.section_named(table_name)
        if table is None or table.type not in (SHT_SYMTAB, SHT_DYNSYM):
            continue
        group: dict[str, list[OutSymbol]] | None = None
        for sym in _symbols(elf, table.index):
            if sym.type == "STT_FILE":
                group = defaultdict(list)
                image.file_groups.append((sym.name, group))
                continue
            if sym.type == "STT_SECTION" or not sym.name:
                continue
            value = sym.value
            if sym.type == "STT_TLS" and sym.shndx != "SHN_UNDEF" and image.tls is not None:
                value += image.tls[0]  # an executable's TLS symbols hold PT_TLS offsets
            rec = OutSymbol(base_name(sym.name), value, sym.size, sym.type, sym.bind,
                            sym.shndx != "SHN_UNDEF")
            if sym.bind == "STB_LOCAL":
                if table_name == ".symtab":
                    image.locals[rec.name].append(rec)
                    if group is not None:
                        group[rec.name].append(rec)
                continue
            known = image.globals.get(rec.name)
            # a definition wins over an undefined entry (the .dynsym may repeat .symtab), and
            # an import's canonical PLT address over 0 (gold leaves 0 in .symtab)
            if known is None or (rec.defined and not known.defined) or (
                    not known.defined and not known.value and rec.value):
                image.globals[rec.name] = rec


def _read_dynamic(elf: ElfFile, image: OutputImage) -> dict[int, int]:
    """Read the dynamic relocations and DT_PLTGOT; returns the flag tags (DT_FLAGS,
    DT_FLAGS_1, DT_SYMBOLIC) found, by number."""
    kinds = _SLOT_TYPES[image.machine]
    flags: dict[int, int] = {}
    for sec in elf.sections:
        if sec.type == SHT_DYNAMIC:
            for tag, value in tables.dynamic_tags(elf.contents(sec), elf.is64):
                if tag == DT_PLTGOT:
                    image.pltgot = value
                if tag in (DT_FLAGS, DT_FLAGS_1, DT_SYMBOLIC):
                    flags[tag] = value
        if sec.type == SHT_RELR and sec.flags & SHF_ALLOC:
            # RELATIVE words whose addends they hold, as REL's do
            image.dynrelocs += [DynReloc(slot, "RELATIVE", "", None)
                                for slot in tables.relr_slots(elf.contents(sec), elf.is64)]
        if sec.type not in (SHT_REL, SHT_RELA) or not sec.flags & SHF_ALLOC:
            continue
        names: list[str] = []
        versions: list[str] = []
        if sec.link:
            names = [base_name(s.name)
                     for s in _symbols(elf, sec.link)]
            versions = _needed_versions(elf, sec.link, len(names))
        for rel in tables.relocations(elf.contents(sec), elf.is64, sec.type == SHT_RELA):
            known = 0 < rel.symbol < len(names)
            image.dynrelocs.append(DynReloc(rel.offset, kinds.get(rel.type, "other"),
                                            names[rel.symbol] if known else "", rel.addend,
                                            versions[rel.symbol] if known else ""))
    return flags


def _exported_default(elf: ElfFile) -> set[str]:
    """The names .dynsym defines with default visibility (global or weak)."""
    table = elf.section_named(".dynsym")
    if table is None or table.type != SHT_DYNSYM:
        return set()
    return {base_name(s.name) for s in _symbols(elf, table.index)
            if s.shndx != "SHN_UNDEF" and s.visibility == 0 and s.name
            and s.bind in ("STB_GLOBAL", "STB_WEAK")}


def _needed_versions(elf: ElfFile, dynsym: int, count: int) -> list[str]:
    """Per dynamic symbol, the name of the needed version it is bound to ("" for none):
    .gnu.version holds an index per symbol (hidden bit masked), .gnu.version_r names the
    indices (vna_other) of each needed library's versions."""
    out = [""] * count
    versym = next((s for s in elf.sections if s.type == SHT_GNU_VERSYM and s.link == dynsym),
                  None)
    if versym is None:
        return out
    names: dict[int, str] = {}
    for sec in elf.sections:
        if sec.type == SHT_GNU_VERNEED:
            strtab = elf.contents(elf.section(sec.link))
            names.update(tables.needed_versions(elf.contents(sec), sec.info, strtab))
    data = elf.contents(versym)
    for i in range(min(count, len(data) // 2)):
        index = int.from_bytes(data[2 * i:2 * i + 2], "little") & 0x7FFF
        out[i] = names.get(index, "")
    return out
