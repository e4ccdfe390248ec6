"""The field oracle's answer for a file it cannot read: a finding, not an exception.

A judge must not die on the thing it judges (a hostile campaign feeds it any bytes), and a
caller should not need a try block to learn that a file is unreadable.  So an output or
input the readers refuse becomes one FieldMismatch of kind "unreadable" naming the file,
the section and the file offset when the reader's message says them (else the offset is 0:
the file as a whole), and the rule broken ("readable as ELF" or "readable as Mach-O") with
the reader's reason, on one line.
"""

from __future__ import annotations

import re

from .mismatch import FieldMismatch, FieldReport

UNREADABLE = "unreadable"

# The readers' messages name a section as "section NAME" (not "section headers", "section
# header 0" or "section name table": tables of the file) and a position as "at 0x...".
_SECTION = re.compile(r"\bsection (?!headers?\b|name table\b)(\S+?)[:,)]?(?:\s|$)")
_OFFSET = re.compile(r"\bat (0x[0-9a-fA-F]+)")


def unreadable(path: str, err: BaseException, form: str) -> FieldReport:
    """The report for `path`, which cannot be read as `form` ("ELF", "Mach-O")."""
    reason = " ".join(str(err).split()) or type(err).__name__
    reason = reason.removeprefix(f"{path}: ")  # the readers name the file themselves
    section = _SECTION.search(reason)
    offset = _OFFSET.search(reason)
    finding = FieldMismatch(
        UNREADABLE, path, section.group(1) if section else "",
        int(offset.group(1), 16) if offset else 0, "", "",
        detail=f"not readable as {form} ({type(err).__name__}): {reason[:300]}")
    return FieldReport((finding,), ())


def is_unreadable(report: FieldReport) -> bool:
    return any(m.kind == UNREADABLE for m in report.mismatches)
