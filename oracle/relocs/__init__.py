"""The relocation-field oracle: recompute every relocated field from the output alone.

    check_fields(output, inputs, link_map=None, link_options=None) -> list[FieldMismatch]
    check_fields_report(...) -> FieldReport   (the same, with the confirmed fields, each
                                               with its formula and rule, and what was
                                               skipped, counted by reason)
    python -m oracle.relocs.cli / oracle.relocs.cli.main(argv)   (`linkharness fields`)

A file it cannot read is not an exception: it is the one mismatch, of kind "unreadable",
naming the file, the section and offset when known, and why (unreadable.py).

For every relocation in every ET_REL input (archive members the linker pulled in
included), the oracle works out where the patched section landed, what the symbol's
address, GOT slot and PLT entry are in the output, and which bytes the field must
therefore hold, allowing the instruction rewrites GNU ld, gold, lld and mold perform
(GOTPCRELX/GOT32X relaxation, TLS initial-exec to local-exec).  It reads inputs and output
with its own ELF reader (elf_file.py) and decodes with capstone; nothing comes from the linker under test.

Module map: inputs/tables/archive (what went in), image/plt (what came out), placement/
merge/linked (where input sections went), targets (S, G, L, Z), types/rules/relax/tls
(what a field may hold), binding (the options that bind exports locally unmarked), check (the loop), diagnose/disasm/mismatch (the report).
"""

from .binding import LinkOptions
from .check import check_fields, check_fields_report
from .mismatch import ConfirmedSite, FieldMismatch, FieldReport

__all__ = ["ConfirmedSite", "FieldMismatch", "FieldReport", "LinkOptions", "check_fields",
           "check_fields_report"]
