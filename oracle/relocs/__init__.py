"""The relocation-field oracle: recompute every relocated field from the output alone.

    check_fields(output, inputs, link_map=None) -> list[FieldMismatch]
    check_fields_report(...) -> FieldReport   (the same, with counts of checked and skipped)

For every relocation in every ET_REL input, the oracle works out where the patched section
landed, what the symbol's address, GOT slot and PLT entry are in the output, and which
bytes the field must therefore hold (allowing the instruction relaxations GNU ld, lld and
mold perform).  It reads inputs and output with pyelftools and decodes with capstone;
nothing comes from the linker under test.
"""

from .check import check_fields, check_fields_report
from .mismatch import ConfirmedSite, FieldMismatch, FieldReport

__all__ = ["ConfirmedSite", "FieldMismatch", "FieldReport", "check_fields", "check_fields_report"]
