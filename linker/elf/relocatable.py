"""`-r` / `--relocatable`: objects in, one ET_REL object out (elf64-x86-64 and elf32-i386).

The inputs are loaded and resolved as for an executable (archives pull members for the
symbols still undefined, a COMDAT group seen twice is kept once, two strong definitions are
an error), and then nothing is placed at an address.  Instead:

- input sections of the same name are concatenated into one output section, each at its
  alignment; a member of a kept COMDAT group stays a section of its own, and the group is
  written again (SHT_GROUP, GRP_COMDAT) around the output sections of its members, so a
  later link can still drop a duplicate copy.  With `-unique` every input section stays a
  section of its own.  SHF_MERGE sections stay mergeable (concatenated; the final link
  merges) when their inputs agree on flags and entry size;
- every local symbol is kept (values become offsets in the output section), one section
  symbol per output section replaces the inputs' own, and each global name appears once,
  defined, COMMON (largest size, strictest alignment) or undefined;
- every relocation is kept and rewritten: its offset moves with its section, a reference
  to an input's section symbol becomes one to the output section's with the input's place
  added to the addend (RELA on x86-64; on i386, REL, the addend is written back into the
  field), and a global reference names the merged global;
- a relocation against a section that was dropped (a duplicate COMDAT member) is removed
  and its field written as the final link would write it: the debug tombstone (0, or 1 in
  a range or location list) in debug information, 0 elsewhere (GNU ld leaves an R_*_NONE
  over a cleared field; the same bytes);
- `.note.GNU-stack` is written when every input has one (executable if any asks), and the
  inputs' `.note.gnu.property` notes are merged into one (elf/gnu_property.py).

Sections are never collected, relaxed or laid out at addresses; debug sections are kept
with their relocations (decompressed when an input was compressed).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import LinkError
from ..model import (
    ABS,
    Binding,
    InputSection,
    ObjectFile,
    SectionFlags,
    SectionRole,
    SymType,
)
from ..model import SymbolTable as SymbolArrays
from ..records import dataclass, field
from ..resolve import GlobalSymbol, SymbolTable
from ..targets import ArchTraits
from .eh_frame import pack_eh_frame_inputs
from .gnu_property import PROPERTY_NOTE, merged_property_note
from .headers import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_GROUP,
    SHF_MERGE,
    SHF_STRINGS,
    SHF_TLS,
    SHF_WRITE,
    SHT_FINI_ARRAY,
    SHT_INIT_ARRAY,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_PREINIT_ARRAY,
    SHT_PROGBITS,
)
from .nonalloc import tombstone
from .relocatable_eh import drop_dead_fdes

_SH_FLAG = ((SectionFlags.ALLOC, SHF_ALLOC), (SectionFlags.WRITE, SHF_WRITE),
            (SectionFlags.EXEC, SHF_EXECINSTR), (SectionFlags.TLS, SHF_TLS),
            (SectionFlags.MERGE, SHF_MERGE), (SectionFlags.STRINGS, SHF_STRINGS))
_SH_TYPE = {SectionRole.ZEROFILL: SHT_NOBITS, SectionRole.INIT_ARRAY: SHT_INIT_ARRAY,
            SectionRole.FINI_ARRAY: SHT_FINI_ARRAY, SectionRole.PREINIT_ARRAY: SHT_PREINIT_ARRAY,
            SectionRole.NOTE: SHT_NOTE}


@dataclass(eq=False)
class RelSection:
    """One output section of the relocatable output, and the input sections in it."""

    name: str
    sh_type: int
    flags: SectionFlags
    entsize: int
    align: int = 1
    size: int = 0
    inputs: list[tuple[InputSection, int]] = field(default_factory=list)  # (input, offset)
    group: str | None = None  # COMDAT signature when this is a kept group's member
    data: bytes = b""
    index: int = 0  # section header index, set by the writer
    symbol: int = 0  # index of its STT_SECTION symbol
    # rewritten relocations: offset, native type, output symbol index, addend
    relocs: np.ndarray | None = None

    @property
    def sh_flags(self) -> int:
        bits = sum(native for flag, native in _SH_FLAG if flag in self.flags)
        return bits | (SHF_GROUP if self.group is not None else 0)

    def add(self, sec: InputSection) -> int:
        self.align = max(self.align, sec.align)
        offset = -(-self.size // sec.align) * sec.align
        self.inputs.append((sec, offset))
        self.size = offset + sec.size
        return offset


@dataclass(frozen=True)
class RelSymbol:
    name: str
    value: int
    size: int
    info: int  # st_info: binding << 4 | type
    other: int
    shndx: RelSection | int  # an output section, or SHN_UNDEF / SHN_ABS / SHN_COMMON


@dataclass
class RelocatableOutput:
    arch: ArchTraits
    sections: list[RelSection]
    groups: list[tuple[str, int, list[RelSection]]]  # signature, its symbol, members
    symbols: list[RelSymbol]
    first_global: int
    exec_stack: bool | None  # .note.GNU-stack: None writes none


SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_SECTION = 3


def build_relocatable(symtab: SymbolTable, arch: ArchTraits, unique: bool = False,
                      forced_properties: Mapping[int, int] | None = None
                      ) -> RelocatableOutput:
    """Plan the ET_REL output of the resolved `symtab` (see the module docstring).
    `forced_properties`: property bits -z ibt/shstk/x86-64-vN add to the merged note."""
    pack_eh_frame_inputs(symtab.objects)
    drop_dead_fdes(symtab.objects)
    sections, placed, kept_groups = _output_sections(symtab, arch, unique,
                                                     forced_properties or {})
    symbols, local_maps, first_global, signatures = _symbols(symtab, sections, placed,
                                                             kept_groups)
    groups = _groups(symtab, kept_groups, symbols, local_maps, signatures)
    for obj, (new_index, delta) in zip(symtab.objects, local_maps):
        for sec in obj.sections:
            if sec is not None and sec.file is obj and id(sec) in placed and len(sec.relocs):
                _rewrite(obj, sec, placed[id(sec)], new_index, delta)
    for out in sections:
        out.data = _contents(out, arch.is_rela)
    exec_stack: bool | None = None
    if symtab.objects and all(o.exec_stack is not None for o in symtab.objects):
        exec_stack = any(bool(o.exec_stack) for o in symtab.objects)
    return RelocatableOutput(arch, sections, groups, symbols, first_global, exec_stack)


# -- sections ---------------------------------------------------------------------------------

Placement = dict[int, tuple[RelSection, int]]  # id(input section) -> (output, offset)
KeptGroups = list[tuple[ObjectFile, str, list[RelSection]]]  # object, signature, members


def _output_sections(symtab: SymbolTable, arch: ArchTraits, unique: bool,
                     forced: Mapping[int, int]
                     ) -> tuple[list[RelSection], Placement, KeptGroups]:
    sections: list[RelSection] = []
    by_key: dict[tuple[str, int], RelSection] = {}
    placed: Placement = {}
    kept_groups: list[tuple[ObjectFile, str, list[RelSection]]] = []
    for obj in symtab.objects:
        members: dict[int, tuple[str, list[RelSection]]] = {}
        for group in obj.groups:
            if symtab.comdats.get(group.signature) is obj:
                entry: tuple[str, list[RelSection]] = (group.signature, [])
                kept_groups.append((obj, group.signature, entry[1]))
                for index in group.sections:
                    members[index] = entry
        for sec in obj.sections:
            if sec is None or sec.file is not obj or sec.role is SectionRole.MARKER:
                continue
            if sec.name == PROPERTY_NOTE:
                continue  # the objects' notes are merged into one, below
            sh_type = _SH_TYPE.get(sec.role, SHT_PROGBITS)
            if sec.role is SectionRole.EH_FRAME:
                sh_type = arch.eh_frame_type
            group_entry = members.get(sec.index)
            key = (sec.name, sh_type)
            out = None if unique or group_entry is not None else by_key.get(key)
            if out is None:
                out = RelSection(sec.name, sh_type, sec.flags, sec.entsize)
                sections.append(out)
                if group_entry is not None:
                    out.group = group_entry[0]
                    group_entry[1].append(out)
                elif not unique:
                    by_key[key] = out
            elif out.flags != sec.flags or out.entsize != sec.entsize:
                # inputs that disagree: one plain section (the final link cannot cut it)
                out.flags = (out.flags | sec.flags) & ~(SectionFlags.MERGE | SectionFlags.STRINGS)
                out.entsize = 0
            placed[id(sec)] = (out, out.add(sec))
    note = merged_property_note(symtab.objects, arch.word, forced)
    if note is not None:
        out = RelSection(PROPERTY_NOTE, SHT_NOTE, SectionFlags.ALLOC, 0, align=arch.word,
                         size=len(note), data=note)
        sections.insert(0, out)
    return sections, placed, kept_groups


def _contents(out: RelSection, rela: bool) -> bytes:
    if out.sh_type == SHT_NOBITS or out.data:
        return out.data
    image = bytearray(out.size)
    for sec, offset in out.inputs:
        if sec.data is not None and sec.size:
            image[offset:offset + sec.size] = sec.data
    if out.relocs is not None and len(out.relocs):
        # REL keeps each addend in its field; RELA fields keep the input's bytes, but a
        # dropped reference's tombstone is written on both (no relocation will).
        rows = out.relocs if not rela else out.relocs[out.relocs["type"] == 0]
        _write_fields(image, rows)
        out.relocs = out.relocs[out.relocs["type"] != 0]
    return bytes(image)


# -- symbols ----------------------------------------------------------------------------------

LocalMap = tuple[np.ndarray, np.ndarray]  # per input symbol: output index (-1: dropped), delta


def _symbols(symtab: SymbolTable, sections: list[RelSection], placed: Placement,
             kept_groups: KeptGroups
             ) -> tuple[list[RelSymbol], list[LocalMap], int, dict[tuple[int, str], int]]:
    symbols = [RelSymbol("", 0, 0, 0, 0, SHN_UNDEF)]
    for out in sections:
        out.symbol = len(symbols)
        symbols.append(RelSymbol("", 0, 0, STT_SECTION, 0, out))
    maps: list[LocalMap] = []
    for obj in symtab.objects:
        table = obj.symbols
        new_index = np.full(len(table), -1, dtype=np.int64)
        delta = np.zeros(len(table), dtype=np.int64)
        if len(table):
            new_index[0] = 0
        section_index = table.section.tolist()
        for i in np.nonzero(table.binding == Binding.LOCAL)[0].tolist():
            if i == 0:
                continue
            shndx = section_index[i]
            sec = obj.sections[shndx] if shndx >= 0 else None
            where = placed.get(id(sec)) if sec is not None else None
            if int(table.type[i]) == SymType.SECTION:
                if where is not None:
                    new_index[i], delta[i] = where[0].symbol, where[1]
                continue
            if shndx == ABS:
                new_index[i] = len(symbols)
                symbols.append(RelSymbol(table.names[i], int(table.value[i]),
                                         int(table.size[i]), _info(STB_LOCAL, table, i),
                                         int(table.visibility[i]), SHN_ABS))
            elif where is not None:
                new_index[i] = len(symbols)
                symbols.append(RelSymbol(table.names[i], int(table.value[i]) + where[1],
                                         int(table.size[i]), _info(STB_LOCAL, table, i),
                                         int(table.visibility[i]), where[0]))
        maps.append((new_index, delta))
    # A group's signature may be a local of the .group section itself (g++'s D5 comdat
    # names), which no output section holds: it becomes a local of the group's first member.
    signatures: dict[tuple[int, str], int] = {}
    number = {id(obj): n for n, obj in enumerate(symtab.objects)}
    for obj, signature, members in kept_groups:
        if not members or signature in symtab.by_name:
            continue
        names, new_index = obj.symbols.names, maps[number[id(obj)]][0]
        found = next((i for i in range(1, len(names)) if names[i] == signature
                      and new_index[i] >= 0), None)
        if found is None:
            signatures[(id(obj), signature)] = len(symbols)
            symbols.append(RelSymbol(signature, 0, 0, STB_LOCAL << 4, 0, members[0]))
    first_global = len(symbols)
    global_index = np.full(len(symtab.symbols), -1, dtype=np.int64)
    for sym in symtab.symbols:
        if not sym.referenced and sym.file is None:
            continue  # interned by the loader, never named by an input
        global_index[sym.id] = len(symbols)
        symbols.append(_global(sym, placed))
    for (new_index, _), gids in zip(maps, symtab.gids):
        is_global = gids >= 0
        new_index[is_global] = global_index[gids[is_global]]
    return symbols, maps, first_global, signatures


def _info(binding: int, table: SymbolArrays, i: int) -> int:
    return binding << 4 | int(table.type[i])


def _global(sym: GlobalSymbol, placed: Placement) -> RelSymbol:
    binding = STB_WEAK if sym.binding == Binding.WEAK else STB_GLOBAL
    if sym.file is None:  # undefined: weak only when every reference is
        binding = STB_GLOBAL if sym.strong_ref else STB_WEAK
        return RelSymbol(sym.name, 0, 0, binding << 4 | int(sym.type), int(sym.visibility),
                         SHN_UNDEF)
    info = binding << 4 | int(sym.type)
    if sym.common:
        return RelSymbol(sym.name, sym.common_align, sym.size, info, int(sym.visibility),
                         SHN_COMMON)
    if sym.section is None:
        return RelSymbol(sym.name, sym.value, sym.size, info, int(sym.visibility), SHN_ABS)
    where = placed.get(id(sym.section))
    if where is None:
        raise LinkError(f"-r: defined in section {sym.section.name}, which a relocatable "
                        "output does not keep", file=sym.section.file.path, symbol=sym.name)
    out, offset = where
    return RelSymbol(sym.name, sym.value + offset, sym.size, info, int(sym.visibility), out)


# -- COMDAT groups ----------------------------------------------------------------------------

def _groups(symtab: SymbolTable, kept: KeptGroups, symbols: list[RelSymbol],
            maps: list[LocalMap], signatures: dict[tuple[int, str], int]
            ) -> list[tuple[str, int, list[RelSection]]]:
    """Each kept group with the output symbol naming its signature: the global of that
    name, or the object's local (a section symbol: its output section's)."""
    number = {id(obj): n for n, obj in enumerate(symtab.objects)}
    globals_ = {s.name: n for n, s in enumerate(symbols) if s.info >> 4 != STB_LOCAL}
    out: list[tuple[str, int, list[RelSection]]] = []
    for obj, signature, members in kept:
        if not members:
            continue
        index = globals_.get(signature, signatures.get((id(obj), signature), -1))
        if index < 0:
            new_index = maps[number[id(obj)]][0]
            names = obj.symbols.names
            found = next((i for i in range(1, len(names)) if names[i] == signature), None)
            index = int(new_index[found]) if found is not None else -1
        if index < 0:
            raise LinkError(f"COMDAT group {signature}: no symbol of the output names its "
                            "signature", file=obj.path)
        out.append((signature, index, members))
    return out


# -- relocations ------------------------------------------------------------------------------

def _rewrite(obj: ObjectFile, sec: InputSection, where: tuple[RelSection, int],
             new_index: np.ndarray, delta: np.ndarray) -> None:
    out, base = where
    rows = sec.relocs.rows
    symbol = rows["symbol"].astype(np.int64)
    target = new_index[symbol]
    width = np.array([h.width for h in obj.howtos], dtype=np.int64)[rows["howto"]]
    table = np.zeros(len(rows), dtype=REL_ROW)
    table["offset"] = rows["offset"] + base
    table["type"] = rows["howto"]
    table["symbol"] = target
    table["addend"] = rows["addend"] + delta[symbol]
    table["width"] = width
    dropped = target < 0
    if dropped.any():
        # A reference into a dropped section: the field gets the final link's tombstone.
        value = tombstone(sec.name) if SectionFlags.ALLOC not in sec.flags else 0
        table["addend"][dropped] = value
        table["type"][dropped] = 0  # written into the field, then not emitted
    out.relocs = table if out.relocs is None else np.concatenate([out.relocs, table])


REL_ROW = np.dtype([("offset", "<i8"), ("type", "<i8"), ("symbol", "<i8"), ("addend", "<i8"),
                    ("width", "<i8")])


def _write_fields(image: bytearray, relocs: np.ndarray) -> None:
    """Write each row's addend into its field, little-endian, truncated to its width."""
    raw = np.frombuffer(image, dtype=np.uint8)
    for width in (1, 2, 4, 8):
        pick = relocs[relocs["width"] == width]
        if not len(pick):
            continue
        values = pick["addend"].astype(np.int64).view(np.uint64)
        data = values.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :width]
        positions = pick["offset"][:, None] + np.arange(width)
        raw[positions.reshape(-1)] = data.reshape(-1)

