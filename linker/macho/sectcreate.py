"""ld64's -sectcreate SEG SECT FILE: a section of the output holding a file's bytes."""

from __future__ import annotations

from ..errors import LinkError
from ..model import InputSection, ObjectFile, SectionFlags, SectionRole
from ..resolve import SymbolTable
from . import sections as policy


def create_sections(symtab: SymbolTable, obj: ObjectFile,
                    created: tuple[tuple[str, str, bytes], ...]) -> None:
    """-sectcreate: a section holding a file's bytes (an Info.plist, say), in __TEXT
    (read-only) or __DATA; nothing refers to it.  A name the inputs already have is an
    error, as in ld64."""
    taken = {policy.output_name(sec) for o in symtab.objects for sec in o.sections
             if sec is not None}
    for segment, sectname, data in created:
        name = f"{segment},{sectname}"
        if segment not in ("__TEXT", "__DATA"):
            raise LinkError(f"-sectcreate {segment} {sectname}: only __TEXT and __DATA "
                            "segments are written")
        if not 0 < len(sectname) <= 16:
            raise LinkError(f"-sectcreate {segment} {sectname}: a section name has 1 to 16 "
                            "characters")
        if name in taken:
            raise LinkError(f"-sectcreate {segment} {sectname}: the section already exists")
        taken.add(name)
        flags = SectionFlags.ALLOC | (SectionFlags.WRITE if segment == "__DATA"
                                      else SectionFlags.NONE)
        obj.sections.append(InputSection(obj, len(obj.sections), name, flags,
                                         SectionRole.NORMAL, 1, len(data), data))
