"""`--emit-relocs` (`-q`): the executable keeps its inputs' relocations, as GNU ld writes them.

For every output section that input relocations patch, one `.rela.NAME` (`.rel.NAME` on
i386) section: not allocated, SHF_INFO_LINK, sh_link the `.symtab`, sh_info the output
section.  Each input relocation becomes one entry (facts from GNU ld's behaviour, as
`readelf -r` shows it):

* r_offset is the field's output address (its offset in the output section, for a section
  that is not allocated);
* the type is the relocation as applied: a GOT load the linker relaxed carries the relaxed
  form's type (R_X86_64_REX_GOTPCRELX of `mov main@GOTPCREL` in a fixed-address executable
  becomes R_X86_64_32S), as GNU ld rewrites its r_info;
* a global symbol is named by its `.symtab` entry; a local one too when `.symtab` keeps it;
  a section symbol, or a local `.symtab` does not keep, becomes the section symbol of the
  output section, the addend moved by where its input landed (RELA);
* on i386 (REL) the field holds the final value, as it does without the option, so the
  entry carries no addend;
* TLS sequences relaxed to local exec keep the inputs' relocations (R_X86_64_TLSGD and
  the call's PLT32 to __tls_get_addr, at their places), as GNU ld emits them;
* a relocation against a section the link discarded (a dropped COMDAT copy, a collected
  section) is written as type 0 against symbol 0 with addend 0, at its offset.

Relocations of sections the linker made (PLT, GOT) are not emitted, nor those of input
sections the output does not keep.
"""

from __future__ import annotations

import functools

import numpy as np

from ..arrays import distinct
from ..model import InputSection, ObjectFile, RelocTable, SymType
from ..records import dataclass, field
from ..resolve import GlobalSymbol, SymbolTable
from ..synth import SYNTHETIC_PATH
from .image import ElfImage
from .reloc_table import pack_relocations

SHT_RELA, SHT_REL = 4, 9
SHF_INFO_LINK = 0x40


@dataclass
class SymtabIndex:
    """Where `.symtab` put each symbol, filled while it is built (elf/write.py)."""

    section: dict[int, int] = field(default_factory=dict)  # output section index -> row
    local: dict[tuple[int, int], int] = field(default_factory=dict)  # (id(obj), index) -> row
    global_: dict[int, int] = field(default_factory=dict)  # global id -> row
    # (id(obj), index) of the locals emitted relocations name: .symtab keeps them even
    # when it would not (`.LC0` in a string section, which the assembler leaves named)
    wanted: set[tuple[int, int]] = field(default_factory=set)

    @staticmethod
    def for_relocations(symtab: SymbolTable) -> SymtabIndex:
        index = SymtabIndex()
        for obj, gids in zip(symtab.objects, symtab.gids):
            if obj.path == SYNTHETIC_PATH:
                continue
            for sec in obj.sections:
                if sec is None or sec.file is not obj or not len(sec.relocs):
                    continue
                named = distinct(sec.relocs.rows["symbol"])
                named = named[(named < len(gids))]
                index.wanted.update((id(obj), int(s)) for s in named[gids[named] < 0])
        return index


@dataclass(frozen=True)
class RelocationSection:
    name: str
    sh_type: int
    data: bytes
    target: int  # section header index of the output section patched
    entsize: int


def input_relocations(symtab: SymbolTable) -> dict[int, RelocTable]:
    """Every input section's relocation table as it is now, by id(section)."""
    return {id(sec): sec.relocs for obj in symtab.objects for sec in obj.sections
            if sec is not None and sec.file is obj and len(sec.relocs)}


def tls_sequences_as_read(symtab: SymbolTable, before: dict[int, RelocTable]
                          ) -> dict[int, RelocTable]:
    """The tables TLS relaxation replaced (the others are the same objects), as read, with
    the GOT-load relaxation's new types carried over by offset."""
    out: dict[int, RelocTable] = {}
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is None or id(sec) not in before or before[id(sec)] is sec.relocs:
                continue
            original = before[id(sec)]
            rows = original.rows.copy()
            now = sec.relocs.rows
            position = {int(off): n for n, off in enumerate(rows["offset"].tolist())}
            changed = now["howto"] >= _native_count(obj.arch)  # a form the table adds
            for off, howto in zip(now["offset"][changed].tolist(),
                                  now["howto"][changed].tolist()):
                # (a relaxed `jmp *x@GOTPCREL` moved its field one byte back, and its entry
                # with it, as in the sections TLS relaxation left alone)
                n = position.get(int(off), position.get(int(off) + 1))
                if n is not None:
                    rows["howto"][n], rows["offset"][n] = howto, off
            out[id(sec)] = RelocTable(rows, original.subtrahend)
    return out


def _native_count(arch: str) -> int:
    from .read import RELOC_TABLES
    return len(RELOC_TABLES[arch].supported)


def relocation_sections(img: ElfImage, symtab: SymbolTable, index: SymtabIndex
                        ) -> list[RelocationSection]:
    """The `.rela.*`/`.rel.*` sections of every output section, in output order."""
    arch = img.arch
    rela = arch.is_rela
    rows_by_out: dict[int, list[np.ndarray]] = {}
    out_index = {id(sec): n + 1 for n, out in enumerate(img.sections) for sec in out.inputs}
    for obj, gids in zip(symtab.objects, symtab.gids):
        if obj.path == SYNTHETIC_PATH:
            continue
        for sec in obj.sections:
            if sec is None or sec.file is not obj or id(sec) not in out_index or \
                    not len(img.emit_tables.get(id(sec), sec.relocs)):
                continue
            rows_by_out.setdefault(out_index[id(sec)] - 1, []).append(
                _rows(img, obj, sec, gids, index, out_index, symtab.symbols))
    out: list[RelocationSection] = []
    prefix = ".rela" if rela else ".rel"
    for n, chunks in sorted(rows_by_out.items()):
        rows = np.concatenate(chunks)
        out.append(RelocationSection(prefix + img.sections[n].name,
                                     SHT_RELA if rela else SHT_REL,
                                     pack_relocations(rows, rela, arch.elf), n + 1,
                                     arch.dynamic_reloc_size))
    return out


@functools.cache
def native_types(arch: str) -> np.ndarray:
    """Per howto index, the native type an emitted relocation carries: a native howto's
    index is its number; the forms the table adds after them are written as the type they
    came from (no_base) or as the arch's relaxed type (direct)."""
    from .read import RELOC_TABLES
    from .relocs_i386 import RELAXED_TYPE as I386_RELAXED
    from .relocs_x86_64 import RELAXED_TYPE as X86_64_RELAXED
    table = RELOC_TABLES[arch]
    native = len(table.supported)
    by_name = {h.name: n for n, h in enumerate(table.howtos[:native]) if table.supported[n]}
    directs = {id(h.direct) for h in table.howtos[:native] if h.direct is not None}
    relaxed = X86_64_RELAXED if arch == "x86_64" else I386_RELAXED
    types = list(range(native))
    for h in table.howtos[native:]:
        types.append(relaxed if id(h) in directs else by_name[h.name])
    return np.array(types, dtype=np.int64)


EMITTED = np.dtype([("offset", "<i8"), ("type", "<i8"), ("symbol", "<i8"), ("addend", "<i8")])


def _rows(img: ElfImage, obj: ObjectFile, sec: InputSection, gids: np.ndarray,
          index: SymtabIndex, out_index: dict[int, int],
          globals_: list[GlobalSymbol]) -> np.ndarray:
    """One input section's relocations as emitted entries."""
    rows = img.emit_tables.get(id(sec), sec.relocs).rows
    table = np.zeros(len(rows), dtype=EMITTED)
    table["offset"] = rows["offset"] + img.layout.address_of(sec)
    table["type"] = native_types(obj.arch)[rows["howto"]]
    table["addend"] = rows["addend"]
    section_of = obj.symbols.section
    symbols = rows["symbol"].astype(np.int64)
    targets = np.zeros(len(rows), dtype=np.int64)
    discarded = np.zeros(len(rows), dtype=bool)
    # The symbols are few compared with the relocations: decide per distinct symbol.
    for s in distinct(symbols).tolist():
        pick = symbols == s
        gid = int(gids[s]) if s < len(gids) else -1
        if s == 0:
            continue
        if gid >= 0:
            # a global defined in a collected section has no .symtab entry: discarded
            row = index.global_.get(gid)
            defined_in = globals_[gid].section
            if row is None or (defined_in is not None and id(defined_in) not in out_index
                               and defined_in.file.path != SYNTHETIC_PATH):
                discarded |= pick
            else:
                targets[pick] = row
            continue
        row = index.local.get((id(obj), s))
        is_section = int(obj.symbols.type[s]) == SymType.SECTION
        if row is not None and not is_section:
            targets[pick] = row
            continue
        shndx = int(section_of[s])
        if shndx < 0:  # an absolute local .symtab does not keep: its value in the addend
            table["addend"][pick] += int(obj.symbols.value[s])
            continue
        target = obj.sections[shndx]
        n = out_index.get(id(target)) if target is not None else None
        if n is None:
            discarded |= pick
            continue
        out = img.sections[n - 1]
        value = 0 if is_section else int(obj.symbols.value[s])
        targets[pick] = index.section.get(n, 0)
        assert target is not None
        table["addend"][pick] += value + img.layout.address_of(target) - out.addr
    table["symbol"] = targets
    table["type"][discarded] = 0
    table["symbol"][discarded] = 0
    table["addend"][discarded] = 0
    return table


