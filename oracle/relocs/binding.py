"""What the field oracle cannot read from a shared object: the link options that bound some
of its exports locally without leaving a mark in the output.

`-Bsymbolic` sets DF_SYMBOLIC, which the oracle reads (`image.symbolic`).  Nothing marks
`-Bsymbolic-functions` (every exported function bound locally) or a `--dynamic-list` in
`-shared` (only the listed names, and under `--dynamic-list-data` every data object, stay
preemptible; the rest bind locally, whatever -Bsymbolic says), so whoever ran the link tells
the oracle, as the fuzz models do for the options they draw.  GNU ld's and lld's rule,
checked against their outputs; the oracle's own parser and matcher (no linker code).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from oracle.regular_file import read_regular

FUNCTION_TYPES = ("STT_FUNC", "STT_GNU_IFUNC")


@dataclass(frozen=True)
class LinkOptions:
    symbolic_functions: bool = False  # -Bsymbolic-functions
    dynamic_list: tuple[str, ...] | None = None  # --dynamic-list's names and globs
    dynamic_list_data: bool = False  # --dynamic-list-data

    def preemptible(self, name: str, sym_type: str) -> bool:
        """May an export `name` of type `sym_type` (an STT_* name) be interposed, given
        that nothing else (visibility, DF_SYMBOLIC) binds it locally?"""
        if self.dynamic_list is not None or self.dynamic_list_data:
            return (self.dynamic_list_data and sym_type == "STT_OBJECT") or any(
                fnmatch.fnmatchcase(name, p) if any(c in p for c in "*?[") else name == p
                for p in self.dynamic_list or ())
        return not (self.symbolic_functions and sym_type in FUNCTION_TYPES)


def read_dynamic_list(path: str) -> tuple[str, ...]:
    """The names and globs of a GNU ld dynamic list file (`{ name; glob*; };`)."""
    text = read_regular(path).decode()  # not open(): /dev/zero or a FIFO would never end
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = re.sub(r"#[^\n]*", " ", text)
    inner = text[text.index("{") + 1:text.rindex("}")] if "{" in text and "}" in text else ""
    return tuple(n.strip().strip('"') for n in inner.split(";") if n.strip())
