"""Our own i386 assembler pass: lays out an `AsmObject` lowered by fuzz.lower_i386 into
section bytes, relocations and symbols (fuzz.assemble_x86's `ObjectImage` records), as
`as --32` would.  Addends stay in the records; fuzz.emit_elf32 writes them into the fields
(REL).  References to symbols local to the object become section-relative, except those
naming a GOT slot, which belongs to the symbol.
"""

from __future__ import annotations

import struct

from .assemble_x86 import ObjectImage, Relocation, SectionImage, SymbolImage
from .encode_i386 import encode
from .lower_x86 import AsmObject
from .model import Binding, Const, SectionKind, SelfRel

DATA_RELOC = {4: "R_386_32", 2: "R_386_16", 1: "R_386_8"}
PC_DATA_RELOC = {4: "R_386_PC32", 2: "R_386_PC16", 1: "R_386_PC8"}
PACK = {1: "<B", 2: "<H", 4: "<I"}
SLOT_RELOCS = frozenset({"R_386_GOT32", "R_386_GOT32X"})


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def assemble_i386(obj: AsmObject) -> ObjectImage:
    symbols: list[SymbolImage] = []
    pending: list[tuple[str, Relocation]] = []
    laid: list[tuple[str, SectionKind, int, bytearray, str | None]] = []
    for sec in obj.sections:
        data = bytearray()
        align = sec.align
        for item in sec.items:
            align = max(align, item.align)
            start = _align(len(data), item.align)
            data += bytes(start - len(data))
            for insn in item.code:
                code, fixups = encode(insn)
                pending += [(sec.name, Relocation(len(data) + f.offset, f.type, f.name,
                                                  f.addend)) for f in fixups]
                data += code
            for f in item.fields:
                if isinstance(f, Const):
                    data += struct.pack(PACK[f.width], f.value & ((1 << (8 * f.width)) - 1))
                    continue
                if isinstance(f, SelfRel):
                    reloc = Relocation(len(data), PC_DATA_RELOC[f.width], item.name, f.addend)
                else:
                    reloc = Relocation(len(data), DATA_RELOC[f.width], f.target, f.addend)
                pending.append((sec.name, reloc))
                data += bytes(f.width)
            symbols.append(SymbolImage(item.name, item.binding, item.is_function, sec.name,
                                       start, len(data) - start))
        laid.append((sec.name, sec.kind, align, data, sec.group))
    symbols += [SymbolImage(a.name, Binding.GLOBAL, False, None, a.value, 0, "abs")
                for a in obj.absolutes]
    symbols += [SymbolImage(c.name, c.binding, False, None, c.align, c.size, "common")
                for c in obj.commons]
    local = {s.name: s for s in symbols if s.binding is Binding.LOCAL}
    defined = {s.name for s in symbols}
    relocs: dict[str, list[Relocation]] = {name: [] for name, *_ in laid}
    for sec_name, r in pending:
        target = local.get(r.symbol)
        if target is not None and target.section is not None and r.type not in SLOT_RELOCS:
            r = Relocation(r.offset, r.type, target.section, r.addend + target.value, True)
        elif r.symbol not in defined:
            defined.add(r.symbol)
            symbols.append(SymbolImage(r.symbol, Binding.GLOBAL, False, None, 0, 0, "undef"))
        relocs[sec_name].append(r)
    sections = tuple(
        SectionImage(name, kind, align, b"" if kind is SectionKind.BSS else bytes(data),
                     len(data), group, tuple(relocs[name]))
        for name, kind, align, data, group in laid)
    return ObjectImage(obj.name, sections, tuple(symbols))
