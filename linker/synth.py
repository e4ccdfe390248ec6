"""Allocate the GOT, the PLT and the space for COPY relocations, as an ordinary object.

Following Go's linker, the synthetic sections are input sections of a synthetic object that
carry ordinary relocations (`jmp *slot(%rip)` is a PC relocation against `.got.plt`; a
static GOT slot is an ABS relocation against its symbol), so the one relocation pass that
patches user code patches them too, with the same overflow checks.

The order is deterministic: GOT slots and PLT entries in order of first reference, objects
in command-line order.
"""

from __future__ import annotations

import struct

import numpy as np

from .arch import PIC_PLT_TEMPLATES, PLT_TEMPLATES, PltField, PltTemplate
from .arch.plt import lazy_plt_bytes, pick_plt_form
from .errors import LinkError
from .kinds import Howto, Overflow, RelocKind
from .model import (
    ABS,
    RELOC_DTYPE,
    UNDEF,
    Binding,
    DynamicLibrary,
    DynamicSymbol,
    InputSection,
    LazySymbols,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
    SymbolTable,
    SymType,
    Visibility,
)
from .records import dataclass, field
from .resolve import GlobalSymbol
from .resolve import SymbolTable as Globals
from .scan import TLS_GD, TLS_GOT, TLS_SECOND, ScanResult, is_tls_key
from .targets import ArchTraits

SYNTHETIC_PATH = "<linker>"

# Neutral howtos for the synthetic relocations (no native numbers: they never leave the linker).
WORD64 = Howto("<word64>", RelocKind.ABS, 8, Overflow.NONE)
DTPOFF64 = Howto("<dtpoff64>", RelocKind.TLS_DTPOFF, 8, Overflow.NONE)
DTPOFF32 = Howto("<dtpoff32>", RelocKind.TLS_DTPOFF, 4, Overflow.NONE)
WORD32 = Howto("<word32>", RelocKind.ABS, 4, Overflow.NONE)
PCREL32 = Howto("<pcrel32>", RelocKind.PC, 4, Overflow.SIGNED)
TPOFF64 = Howto("<tpoff64>", RelocKind.TLS_TPOFF, 8, Overflow.NONE)
GOTOFF32 = Howto("<gotoff32>", RelocKind.REL_GOT, 4, Overflow.NONE)
TPOFF32 = Howto("<tpoff32>", RelocKind.TLS_TPOFF, 4, Overflow.NONE)
SYNTH_HOWTOS = (WORD64, WORD32, PCREL32, TPOFF64, GOTOFF32, DTPOFF64, DTPOFF32, TPOFF32)
RELA_SIZE = 24  # an Elf64_Rela of the static .rela.iplt
HOWTO_TPOFF64 = 3
HOWTO_WORD = {8: 0, 4: 1}  # index into SYNTH_HOWTOS of the pointer-sized absolute word
HOWTO_PCREL32 = 2
HOWTO_GOTOFF32 = 4
HOWTO_DTPOFF = {8: 5, 4: 6}  # the variable's offset in its module's TLS block
HOWTO_TPOFF = {8: HOWTO_TPOFF64, 4: 7}  # the variable's offset from the thread pointer


@dataclass
class Synthetic:
    """The synthetic object and where each slot and entry lives inside it."""

    obj: ObjectFile
    plt: InputSection | None
    got_plt: InputSection | None
    got: InputSection | None
    copy_bss: InputSection | None
    plt_entry_offset: dict[int, int]  # gid -> offset of its entry in .plt
    got_slot_offset: dict[object, int]  # GOT key -> offset in .got
    jump_slot_offset: dict[int, int]  # gid -> offset of its slot in .got.plt
    copy_offset: dict[int, int]  # gid -> offset in the COPY area
    iplt: InputSection | None = None
    # IFUNC key (global id, or (object number, index) of a local) -> offset in .iplt
    iplt_entry_offset: dict[object, int] = field(default_factory=dict)
    ifunc: IfuncSlots | None = None
    # -z relro: the COPY area of objects read-only in their library (.data.rel.ro, sealed
    # after relocation), gid -> offset in it
    copy_relro: InputSection | None = None
    copy_relro_offset: dict[int, int] = field(default_factory=dict)


class SyntheticBuilder:
    """Accumulates the synthetic object's symbols and relocations."""

    def __init__(self, arch: ArchTraits, globals_: Globals) -> None:
        self.arch = arch
        self.globals = globals_
        self.obj = ObjectFile(SYNTHETIC_PATH, arch.name, [None], _empty_symbols(), SYNTH_HOWTOS)
        self.names: list[str] = [""]
        self.value: list[int] = [0]
        self.section: list[int] = [UNDEF]
        self.binding: list[int] = [Binding.LOCAL]
        self.type: list[int] = [SymType.NOTYPE]
        self.gids: list[int] = [-1]
        self.gid_symbol: dict[int, int] = {}
        self.section_symbol: dict[int, int] = {}
        self.relocs: dict[int, list[tuple[int, int, int, int]]] = {}

    def add_section(
        self, name: str, flags: SectionFlags, size: int, align: int, data: bytes | None
    ) -> InputSection:
        index = len(self.obj.sections)
        role = SectionRole.ZEROFILL if data is None else SectionRole.NORMAL
        sec = InputSection(self.obj, index, name, flags | SectionFlags.ALLOC, role, align, size,
                           data)
        self.obj.sections.append(sec)
        return sec

    def symbol_for_section(self, sec: InputSection) -> int:
        """A local symbol at the start of `sec` (which may belong to another object)."""
        if sec.file is not self.obj:
            index = len(self.obj.sections)
            self.obj.sections.append(sec)  # an alias slot: layout places sections by owner
        else:
            index = sec.index
        key = id(sec)
        if key not in self.section_symbol:
            self.section_symbol[key] = self._add_symbol("", index, 0, Binding.LOCAL,
                                                        SymType.SECTION, -1)
        return self.section_symbol[key]

    def symbol_for_local(self, obj: ObjectFile, index: int) -> int:
        t = obj.symbols
        shndx = int(t.section[index])
        if shndx >= 0:
            sec = obj.sections[shndx]
            if sec is None:
                return self._add_symbol(t.names[index], ABS, 0, Binding.LOCAL, SymType.NOTYPE, -1)
            base = self.symbol_for_section(sec)
            return self._add_symbol(t.names[index], self.section[base], int(t.value[index]),
                                    Binding.LOCAL, SymType.NOTYPE, -1)
        return self._add_symbol(t.names[index], ABS, int(t.value[index]), Binding.LOCAL,
                                SymType.NOTYPE, -1)

    def absolute_symbol(self, name: str) -> int:
        """A local absolute symbol, 0 until its value is set in the finished object's
        table (a value only layout decides, such as a Mach-O lazy-bind offset)."""
        return self._add_symbol(name, ABS, 0, Binding.LOCAL, SymType.NOTYPE, -1)

    def symbol_for_global(self, sym: GlobalSymbol) -> int:
        if sym.id not in self.gid_symbol:
            self.gid_symbol[sym.id] = self._add_symbol(sym.name, UNDEF, 0, Binding.GLOBAL,
                                                       SymType.NOTYPE, sym.id)
        return self.gid_symbol[sym.id]

    def _add_symbol(self, name: str, section: int, value: int, binding: int, type_: int,
                    gid: int) -> int:
        self.names.append(name)
        self.section.append(section)
        self.value.append(value)
        self.binding.append(binding)
        self.type.append(type_)
        self.gids.append(gid)
        return len(self.names) - 1

    def reloc(self, sec: InputSection, offset: int, howto: int, symbol: int, addend: int) -> None:
        self.relocs.setdefault(sec.index, []).append((offset, howto, symbol, addend))

    def finish(self) -> tuple[ObjectFile, np.ndarray]:
        n = len(self.names)
        table = SymbolTable(
            names=self.names,
            value=np.array(self.value, dtype=np.uint64),
            size=np.zeros(n, dtype=np.uint64),
            section=np.array(self.section, dtype=np.int32),
            binding=np.array(self.binding, dtype=np.uint8),
            type=np.array(self.type, dtype=np.uint8),
            visibility=np.full(n, Visibility.DEFAULT, dtype=np.uint8),
        )
        self.obj.symbols = table
        for index, rows in self.relocs.items():
            sec = self.obj.sections[index]
            assert sec is not None
            sec.relocs = RelocTable(np.array(rows, dtype=RELOC_DTYPE))
        return self.obj, np.array(self.gids, dtype=np.int64)


def _empty_symbols() -> SymbolTable:
    z = np.zeros(0, dtype=np.uint64)
    return SymbolTable([], z, z, z.astype(np.int32), z.astype(np.uint8), z.astype(np.uint8),
                       z.astype(np.uint8))


def build_synthetic(
    arch: ArchTraits, globals_: Globals, scan: ScanResult, *, dynamic: bool, pie: bool = False,
    ibt_plt: bool = False, relro: bool = False,
) -> Synthetic:
    b = SyntheticBuilder(arch, globals_)
    word = arch.word
    howto_word = HOWTO_WORD[word]
    rw = SectionFlags.WRITE

    got_plt = plt = None
    jump_slot: dict[int, int] = {}
    plt_entry: dict[int, int] = {}
    if dynamic or scan.plt or scan.uses_got_base:
        nslots = arch.got_plt_reserved + len(scan.plt)
        got_plt = b.add_section(".got.plt", rw, nslots * word, word, bytes(nslots * word))
        dyn = globals_.by_name.get("_DYNAMIC")
        if dyn is not None and dynamic:
            b.reloc(got_plt, 0, howto_word, b.symbol_for_global(dyn), 0)
    if scan.plt and ibt_plt:
        # -z ibtplt: .plt (PLT0 + lazy entries) and .plt.sec (the canonical entries)
        assert got_plt is not None
        from .elf.ibt_plt import build_ibt_plt  # it builds on this module's builder
        plt = build_ibt_plt(b, arch, scan.plt, got_plt, pie, plt_entry, jump_slot)
    elif scan.plt:
        assert got_plt is not None
        size = arch.plt0_size + arch.plt_entry_size * len(scan.plt)
        plt = b.add_section(".plt", SectionFlags.EXEC, size, 16,
                            _plt_bytes(_plt_template(arch, pie), len(scan.plt)))
        template = _plt_template(arch, pie)
        targets = {"got.plt": b.symbol_for_section(got_plt), "plt": b.symbol_for_section(plt)}

        def field(f: PltField, at: int) -> None:
            howto = HOWTO_PCREL32 if f.pc_relative else (
                HOWTO_GOTOFF32 if f.got_relative else HOWTO_WORD[4])
            b.reloc(plt, at + f.offset, howto, targets[f.target], f.addend)

        for f in template.plt0_fields:
            field(f, 0)
        for n, gid in enumerate(scan.plt):
            entry = arch.plt0_size + n * arch.plt_entry_size
            slot = (arch.got_plt_reserved + n) * word
            plt_entry[gid], jump_slot[gid] = entry, slot
            for f in template.entry_fields(slot, entry):
                field(f, entry)
            # The unbound slot points back at the entry's push.
            b.reloc(got_plt, slot, howto_word, targets["plt"], entry + template.push_offset)

    copy_bss = copy_relro = None
    copy_offset: dict[int, int] = {}
    copy_relro_offset: dict[int, int] = {}
    if scan.copies:
        # One copy per library object: aliases (environ, __environ) share it and its one
        # COPY relocation, or the program and libc would disagree about which is live.
        copies: list[GlobalSymbol] = []
        aliases: dict[int, list[GlobalSymbol]] = {}
        seen: set[int] = set()
        for gid in scan.copies:
            if gid in seen:
                continue
            sym = globals_.symbols[gid]
            if sym.size >= MAX_COPY_SIZE:  # a library's st_size past any real object
                raise LinkError(f"a copy relocation of {sym.size:#x} bytes (the symbol's "
                                "st_size) cannot be made",
                                file=sym.dso.path if sym.dso is not None else None,
                                symbol=sym.name)
            copies.append(sym)
            aliases[sym.id] = _aliases(globals_, sym)
            seen.update(a.id for a in aliases[sym.id])
        sealed = [s for s in copies if relro and s.dynsym is not None and s.dynsym.readonly]
        for area, members in ((".dynbss", [s for s in copies if s not in sealed]),
                              (".data.rel.ro", sealed)):
            if not members:
                continue
            placed = _pack(members, [_copy_alignment(s) for s in members])
            zeros = None if area == ".dynbss" else bytes(placed.size)
            section = b.add_section(area, rw, placed.size, placed.align, zeros)
            offsets = copy_offset if area == ".dynbss" else copy_relro_offset
            if area == ".dynbss":
                copy_bss = section
            else:
                copy_relro = section
            for sym, offset in zip(members, placed.offsets):
                offsets[sym.id] = offset
                # The executable now defines the object; ld.so's COPY fills it from the
                # library.
                _redefine(sym, b.obj, section, offset)
                for alias in aliases[sym.id]:
                    _redefine(alias, b.obj, section, offset)

    got = None
    got_slot: dict[object, int] = {}
    if scan.got:
        got = b.add_section(".got", rw, len(scan.got) * word, word, bytes(len(scan.got) * word))
        for i, key in enumerate(scan.got):
            got_slot[key] = i * word
            howto, target = howto_word, key
            if isinstance(key, tuple) and is_tls_key(key):
                tls = _tls_slot(scan, key, word)
                if tls is None:
                    continue  # ld.so's alone (a module id, a preemptible symbol's offset)
                howto, target = tls
            if isinstance(target, int):
                sym = globals_.symbols[target]
                if sym.imported or scan.is_preemptible(target):
                    continue  # GLOB_DAT: ld.so fills it (a COPY'd object is defined by now)
                b.reloc(got, i * word, howto, b.symbol_for_global(sym), 0)
            else:
                assert isinstance(target, tuple)
                local = b.symbol_for_local(globals_.objects[target[0]], target[1])
                b.reloc(got, i * word, howto, local, 0)

    if pie and arch.iplt_slot_absolute and scan.iplt:
        first = _ifunc_symbol_name(globals_, scan.iplt[0])
        raise LinkError("STT_GNU_IFUNC in an i386 position-independent executable is not "
                        "supported (its .iplt entries address their slots absolutely)",
                        file=first[0], symbol=first[1])
    iplt, iplt_entry, ifunc_slots = _build_iplt(b, arch, globals_, scan, dynamic)
    if got is not None and iplt is not None:
        # A GOT slot of an IFUNC holds its canonical address, the .iplt entry (the static
        # value of the symbol; the executable is not relocated), never the resolver.
        iplt_sym = b.symbol_for_section(iplt)
        for key, offset in got_slot.items():
            if key in iplt_entry:
                b.relocs[got.index] = [r for r in b.relocs.get(got.index, [])
                                       if r[0] != offset]
                b.reloc(got, offset, howto_word, iplt_sym, iplt_entry[key])
    place_commons(b, globals_)

    obj, gids = b.finish()
    globals_.objects.append(obj)
    globals_.gids.append(gids)
    return Synthetic(obj, plt, got_plt, got, copy_bss, plt_entry, got_slot, jump_slot, copy_offset,
                     iplt, iplt_entry, ifunc_slots, copy_relro, copy_relro_offset)


def _tls_slot(scan: ScanResult, key: tuple[object, ...], word: int
              ) -> tuple[int, object] | None:
    """(howto, target) of what the linker writes into a TLS GOT slot, or None when the
    slot is left to ld.so.  Initial exec: in an executable S - TP; in a shared object the
    variable's offset in its block (the TPOFF relocation's addend, read back from the
    slot).  A general-dynamic pair's second slot: that offset too, unless the variable is
    preemptible (a DTPOFF relocation).  Module ids and the local-dynamic pair: ld.so's."""
    tag = key[0]
    if tag == TLS_GOT:
        target = key[1]
        if isinstance(target, int) and scan.is_preemptible(target):
            return None
        return (HOWTO_DTPOFF[word] if scan.shared else HOWTO_TPOFF[word]), target
    if tag == TLS_SECOND:
        first = key[1]
        assert isinstance(first, tuple)
        if first[0] != TLS_GD or scan.is_preemptible(first[1]):
            return None
        return HOWTO_DTPOFF[word], first[1]
    return None


IPLT_ENTRY_X86_64 = bytes.fromhex(
    "ff2500000000"  # jmp   *slot(%rip)          ; the slot holds the resolver's choice
    "660f1f440000"  # nopw  0(%rax,%rax)         ; pad to 16
    "0f1f4000"      # nopl  0(%rax)
)
IPLT_ENTRY_I386 = bytes.fromhex(
    "ff2500000000"  # jmp   *slot                ; absolute: the executable is not PIC
    "660f1f440000"  # nopw  0(%eax,%eax)         ; pad to 16
    "0f1f4000"      # nopl  0(%eax)
)
IPLT_ENTRY_SIZE = 16


@dataclass(frozen=True)
class IfuncSlots:
    """Where the IFUNC machinery lives in the synthetic object: .got.iplt holds one slot per
    IFUNC (in `scan.iplt` order), first filled with the resolver's address (i386's REL reads
    it as the addend); `resolvers[k]` is the synthetic symbol of the k-th resolver."""

    slots: InputSection
    resolvers: list[int]


def _build_iplt(b: SyntheticBuilder, arch: ArchTraits, globals_: Globals, scan: ScanResult,
                dynamic: bool) -> tuple[InputSection | None, dict[object, int],
                                        IfuncSlots | None]:
    """IFUNC support: an .iplt entry per IFUNC symbol (its canonical address, what every
    reference and GOT slot gets), a .got.iplt slot the entry jumps through, and an
    IRELATIVE relocation that fills the slot with what the resolver returns.  Static links
    put the relocations in .rela.iplt, which the C library's start-up applies between
    __rela_iplt_start and __rela_iplt_end; dynamic links put them in .rela.plt after the
    JUMP_SLOTs (GNU ld's place), which ld.so applies at load time, lazy binding or not.
    Like the PLT, all of it is written by ordinary relocations of the synthetic object."""
    if not scan.iplt:
        return None, {}, None
    if arch.iplt_slot_absolute and not dynamic:  # no static .rel.iplt either
        first = _ifunc_symbol_name(globals_, scan.iplt[0])
        raise LinkError("STT_GNU_IFUNC in a static i386 link is not supported (no "
                        ".rel.iplt / __rel_iplt_start)", file=first[0], symbol=first[1])
    word = arch.word
    n = len(scan.iplt)
    entry_bytes = IPLT_ENTRY_I386 if arch.iplt_slot_absolute else IPLT_ENTRY_X86_64
    slots = b.add_section(".got.iplt", SectionFlags.WRITE, n * word, word, bytes(n * word))
    iplt = b.add_section(".iplt", SectionFlags.EXEC, n * IPLT_ENTRY_SIZE, 16, entry_bytes * n)
    slot_sym = b.symbol_for_section(slots)
    rela = None
    if not dynamic:
        rela = b.add_section(".rela.iplt", SectionFlags.NONE, n * RELA_SIZE, 8, struct.pack(
            f"<{3 * n}Q", *[v for _ in range(n) for v in (0, arch.dyn.irelative, 0)]))
    entries: dict[object, int] = {}
    resolvers = []
    for k, key in enumerate(scan.iplt):
        path_index = _ifunc_definition(globals_, key)
        entries[key] = k * IPLT_ENTRY_SIZE
        if arch.iplt_slot_absolute:  # jmp *slot
            b.reloc(iplt, entries[key] + 2, HOWTO_WORD[4], slot_sym, k * word)
        else:  # jmp *slot(%rip)
            b.reloc(iplt, entries[key] + 2, HOWTO_PCREL32, slot_sym, k * word - 4)
        resolver = b.symbol_for_local(*path_index)  # the IFUNC's own value: its resolver
        resolvers.append(resolver)
        b.reloc(slots, k * word, HOWTO_WORD[word], resolver, 0)
        if rela is not None:
            b.reloc(rela, k * RELA_SIZE, HOWTO_WORD[8], slot_sym, k * word)  # r_offset
            b.reloc(rela, k * RELA_SIZE + 16, HOWTO_WORD[8], resolver, 0)  # r_addend
    return iplt, entries, IfuncSlots(slots, resolvers)


def _ifunc_definition(globals_: Globals, key: object) -> tuple[ObjectFile, int]:
    """(defining object, symbol index) of an IFUNC key: a global id or (object, index)."""
    if isinstance(key, int):
        sym = globals_.symbols[key]
        assert sym.file is not None
        return sym.file, sym.index
    assert isinstance(key, tuple)
    return globals_.objects[key[0]], key[1]


def _ifunc_symbol_name(globals_: Globals, key: object) -> tuple[str, str]:
    obj, index = _ifunc_definition(globals_, key)
    return obj.path, obj.symbols.names[index]


def place_commons(b: SyntheticBuilder, globals_: Globals, name: str = ".bss.common") -> None:
    """Allocate every COMMON symbol that won resolution in one zero-fill section."""
    rw = SectionFlags.WRITE
    commons = [s for s in globals_.symbols if s.common and s.file is not None]
    if globals_.sort_common is not None:  # --sort-common: by alignment, largest first
        commons.sort(key=lambda s: s.common_align,
                     reverse=globals_.sort_common == "descending")
    if commons:
        placed = _pack(commons, [s.common_align for s in commons])
        common_bss = b.add_section(name, rw, placed.size, placed.align, None)
        for sym, offset in zip(commons, placed.offsets):
            _redefine(sym, b.obj, common_bss, offset)
            sym.common = False


@dataclass(frozen=True)
class _Packed:
    offsets: list[int]
    size: int
    align: int


MAX_COPY_SIZE = 1 << 31  # bytes a COPY relocation may copy into the executable's .dynbss


def _pack(syms: list[GlobalSymbol], aligns: list[int]) -> _Packed:
    offset, offsets = 0, []
    for sym, a in zip(syms, aligns):
        offset = (offset + a - 1) & -a
        offsets.append(offset)
        offset += max(sym.size, 1)
    return _Packed(offsets, offset, max(aligns, default=1))


def _aliases(globals_: Globals, sym: GlobalSymbol) -> list[GlobalSymbol]:
    """Other names the library gives the copied object (`__environ` for `environ`): they
    must resolve to the copy too, or the library's own code keeps using the original."""
    lib, dsym = sym.dso, sym.dynsym
    if lib is None or dsym is None or not dsym.value:
        return []
    out = []
    for other in _exports_at(lib, dsym.value):
        if other.name != sym.name and other.type != SymType.FUNC:
            alias = globals_.by_name.get(other.name)
            if alias is not None and alias.file is None and alias.dso is lib:
                out.append(alias)
    return out


def _exports_at(lib: DynamicLibrary, value: int) -> list[DynamicSymbol]:
    """The library's exports at address `value`, in its order (LazySymbols: only theirs
    are made)."""
    exports = lib.symbols
    if isinstance(exports, LazySymbols):
        return [exports[name] for name in exports.with_value(value)]
    return [d for d in exports.values() if d.value == value]


def _redefine(sym: GlobalSymbol, obj: ObjectFile, sec: InputSection, offset: int) -> None:
    sym.file, sym.section, sym.value, sym.index = obj, sec, offset, 0
    sym.absolute = False
    if sym.type == SymType.NOTYPE:
        sym.type = SymType.OBJECT


def _plt_template(arch: ArchTraits, pie: bool) -> PltTemplate:
    return pick_plt_form(PLT_TEMPLATES, PIC_PLT_TEMPLATES, arch.name, pie)


def _plt_bytes(template: PltTemplate, count: int) -> bytes:
    return lazy_plt_bytes(template.plt0, template.entry, template.push_imm_offset,
                          template.push_value, count)


def _copy_alignment(sym: GlobalSymbol) -> int:
    """The alignment the library gave the object; without that fact, the largest power of
    two dividing its size, up to 32 (what a compiler could have assumed)."""
    if sym.dynsym is not None and sym.dynsym.align:
        return sym.dynsym.align
    align = 1
    while align < 32 and sym.size % (align * 2) == 0 and sym.size >= align * 2:
        align *= 2
    return align
