"""Our own assembler pass: lays out an `AsmObject` into section bytes, relocations and
symbols (an `ObjectImage`), as GNU as would for ELF x86-64.

References to symbols that are local to the object are rewritten against the section symbol
with the symbol's offset folded into the addend — the form assemblers emit for static
functions and data — so the linker sees section-relative relocations with nonzero addends.
References to a symbol's GOT slot keep the symbol: the slot belongs to the symbol.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .encode_x86 import Fixup, Insn, encode
from .lower_x86 import AsmObject, lower
from .model import Binding, Const, Program, Ref, SectionKind, SelfRel

DATA_RELOC = {8: "R_X86_64_64", 4: "R_X86_64_32", 2: "R_X86_64_16", 1: "R_X86_64_8"}
PC_DATA_RELOC = {8: "R_X86_64_PC64", 4: "R_X86_64_PC32", 2: "R_X86_64_PC16",
                 1: "R_X86_64_PC8"}
PACK = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}
# Relocations that name a GOT slot: the slot belongs to the symbol, so they keep it.
SLOT_RELOCS = frozenset({"R_X86_64_GOTPCREL", "R_X86_64_GOTPCRELX", "R_X86_64_REX_GOTPCRELX",
                         "R_X86_64_GOT32"})


@dataclass(frozen=True)
class Relocation:
    offset: int
    type: str
    symbol: str  # a symbol name, or a section name when section_symbol
    addend: int
    section_symbol: bool = False


@dataclass(frozen=True)
class SectionImage:
    name: str
    kind: SectionKind
    align: int
    data: bytes  # empty for BSS
    size: int
    group: str | None
    relocs: tuple[Relocation, ...]


@dataclass(frozen=True)
class SymbolImage:
    name: str
    binding: Binding
    is_function: bool
    section: str | None  # None: undefined, absolute or COMMON (see `special`)
    value: int
    size: int
    special: str = ""  # "", "abs", "common" or "undef"


@dataclass(frozen=True)
class ObjectImage:
    name: str
    sections: tuple[SectionImage, ...]
    symbols: tuple[SymbolImage, ...]


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Isa:
    """What the assembler pass needs of an instruction set: its encoder and the ELF
    relocation types of its data fields and GOT slot references."""

    encode: Callable[[Insn], tuple[bytes, list[Fixup]]]
    data_reloc: Callable[[Ref], str]  # the type of a field holding a symbol's address
    pc_data_reloc: Mapping[int, str]  # by width: a field holding its distance to a symbol
    slot_relocs: frozenset[str]  # types naming the symbol's GOT slot: they keep the symbol


X86_64 = Isa(encode, lambda f: "R_X86_64_32S" if f.signed else DATA_RELOC[f.width],
             PC_DATA_RELOC, SLOT_RELOCS)


def assemble(obj: AsmObject) -> ObjectImage:
    return assemble_for(obj, X86_64)


_LAST_PROGRAM: list[tuple[Program, tuple[tuple[AsmObject, ObjectImage], ...]]] = []


def lowered_images(program: Program) -> tuple[tuple[AsmObject, ObjectImage], ...]:
    """The program's objects, lowered and assembled.  The last program's are kept: a
    property labels its coverage (fuzz/coverage.py) and then writes the same objects
    (fuzz/pipeline.py), and both need them.  Kept by identity, and the program is held, so
    that a new program never meets the old one's id."""
    if _LAST_PROGRAM and _LAST_PROGRAM[0][0] is program:
        return _LAST_PROGRAM[0][1]
    built = tuple((obj, assemble(obj)) for obj in lower(program))
    _LAST_PROGRAM[:] = [(program, built)]
    return built


def assemble_for(obj: AsmObject, isa: Isa) -> ObjectImage:
    symbols: list[SymbolImage] = []
    # (section, offset, type, symbol name, addend): relocations against symbol names, made
    # records once their symbols are known (a record costs a microsecond to make)
    pending: list[tuple[str, int, str, str, int]] = []
    laid: list[tuple[str, SectionKind, int, bytearray, str | None]] = []
    encode = isa.encode
    for sec in obj.sections:
        data = bytearray()
        align = sec.align
        name = sec.name
        for item in sec.items:
            align = max(align, item.align)
            start = _align(len(data), item.align)
            if start > len(data):
                data += bytes(start - len(data))
            for insn in item.code:  # a data item has none
                code, fixups = encode(insn)
                if fixups:
                    at = len(data)
                    pending += [(name, at + f.offset, f.type, f.name, f.addend) for f in fixups]
                data += code
            for f in item.fields:
                if isinstance(f, Const):
                    data += struct.pack(PACK[f.width], f.value & ((1 << (8 * f.width)) - 1))
                    continue
                if isinstance(f, SelfRel):
                    pending.append((name, len(data), isa.pc_data_reloc[f.width], item.name,
                                    f.addend))
                else:
                    pending.append((name, len(data), isa.data_reloc(f), f.target, f.addend))
                data += bytes(f.width)
            symbols.append(SymbolImage(item.name, item.binding, item.is_function, name,
                                       start, len(data) - start))
        laid.append((name, sec.kind, align, data, sec.group))
    symbols += [SymbolImage(a.name, Binding.GLOBAL, False, None, a.value, 0, "abs")
                for a in obj.absolutes]
    symbols += [SymbolImage(c.name, c.binding, False, None, c.align, c.size, "common")
                for c in obj.commons]
    local = {s.name: s for s in symbols if s.binding is Binding.LOCAL}
    defined = {s.name for s in symbols}
    relocs: dict[str, list[Relocation]] = {name: [] for name, *_ in laid}
    for sec_name, offset, type_, symbol, addend in pending:
        target = local.get(symbol)
        if target is not None and target.section is not None \
                and type_ not in isa.slot_relocs:
            r = Relocation(offset, type_, target.section, addend + target.value, True)
        else:
            if symbol not in defined:
                defined.add(symbol)
                binding = Binding.WEAK if symbol in obj.weak_refs else Binding.GLOBAL
                symbols.append(SymbolImage(symbol, binding, False, None, 0, 0, "undef"))
            r = Relocation(offset, type_, symbol, addend)
        relocs[sec_name].append(r)
    sections = tuple(
        SectionImage(name, kind, align, b"" if kind is SectionKind.BSS else bytes(data),
                     len(data), group, tuple(relocs[name]))
        for name, kind, align, data, group in laid)
    return ObjectImage(obj.name, sections, tuple(symbols))
