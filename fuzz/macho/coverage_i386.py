"""Coverage labels of a Mach-O i386 case (fuzz/coverage.py's convention: strings counted by
`record` and matched by fuzz/inventory.py's rows): the GENERIC relocation entries of our
MH_OBJECT i386 files by type, length and form, the non-lazy pointer slots and jump tables, calls to imports
(stubs), the entry's exit through libSystem, pointers in data with addends, and the symbol
kinds the writer drew."""

from __future__ import annotations

from .. import libtrace
from ..model import Program, Ref
from .assemble_i386 import assemble_i386
from .dwarf import debug_labels
from .emit_macho_i386 import GenericReloc
from .pipeline import debug_info_form
from .pipeline_i386 import choices, exits_through_libsystem, lowerer


def _form(r: GenericReloc) -> str:
    if r.pair is not None:
        return "pair"
    if r.value is not None:
        return "scattered"
    return "section" if r.section else "extern"


def describe_macho_i386(program: Program, variant: int) -> set[str]:
    labels = {"macho-i386"}
    lower = lowerer(program, variant)
    for i in range(len(program.objects)):
        image = assemble_i386(lower.object(i), choices(variant, i))
        for sec in image.sections:
            for r in sec.relocs:
                pc = ":pcrel" if r.pcrel else ""
                labels.add(f"macho-i386:reloc:{r.type}{pc}:{r.length}:{_form(r)}")
                if r.pcrel and r.symbol[1:] in libtrace.IMPORTS:
                    labels.add("macho-i386:call:import")
            if sec.indirect:
                labels.add("macho-i386:jump_table" if sec.stub_size else "macho-i386:pointers")
        labels |= {"macho-i386:weak_ref" for s in image.symbols if s.weak_ref}
        labels |= {"macho-i386:private_extern" for s in image.symbols if s.private_extern}
        labels |= {"macho-i386:common" for s in image.symbols if s.kind == "common"}
        labels |= debug_labels("macho-i386", debug_info_form(variant, i))
    if program.error is not None:
        labels.add(f"macho-i386:error:{program.error.value}")
    if exits_through_libsystem(variant):
        labels.add("macho-i386:exit:libsystem")
    for obj in program.objects:
        for d in obj.data:
            for f in d.fields:
                if isinstance(f, Ref) and f.width >= 4 and f.addend:
                    where = "import" if f.target in libtrace.IMPORTS else "image"
                    labels.add(f"macho-i386:pointer:{where}:with_addend")
    return labels
