"""`.ctors`/`.dtors` in `.init_array`/`.fini_array`, as GNU ld's default script puts them.

GNU ld's script sends every `.ctors`/`.dtors` input (but crtbegin's and crtend's, which
keep the old `__CTOR_LIST__` protocol in an output `.ctors`) into `.init_array` /
`.fini_array`: `.ctors.NNNNN` sorted with `.init_array.NNNNN` at priority 65535 - NNNNN,
plain `.ctors` among the unnumbered `.init_array` inputs in input order.  A `.ctors` list
runs from its end to its start, an init array from start to end, so GNU ld copies each such
section's words in reverse order (SEC_ELF_REVERSE_COPY); this module does the same to the
section's bytes and moves its relocations with them.
"""

from __future__ import annotations

import os

import numpy as np

from ..model import InputSection, ObjectFile, RelocTable, SectionRole

_ROLE = {".ctors": SectionRole.INIT_ARRAY, ".dtors": SectionRole.FINI_ARRAY}


def _keeps_old_protocol(obj: ObjectFile) -> bool:
    """crtbegin*.o / crtend*.o: GNU ld's script excludes their .ctors/.dtors."""
    base = os.path.basename(obj.path.split("(")[0])
    return base.startswith(("crtbegin", "crtend"))


def list_kind(sec: InputSection) -> str | None:
    """".ctors" or ".dtors" for a section of that family (.ctors.00200 too), else None."""
    for kind in _ROLE:
        if sec.name == kind or sec.name.startswith(kind + "."):
            return kind
    return None


def fold_ctors_into_init_arrays(objects: list[ObjectFile], word: int) -> None:
    """Reverse every foldable .ctors/.dtors section in place and give it the array role;
    sections.output_name then sends it to .init_array/.fini_array."""
    for obj in objects:
        if _keeps_old_protocol(obj):
            continue
        for sec in obj.sections:
            if sec is None or sec.file is not obj or sec.data is None:
                continue
            kind = list_kind(sec)
            if kind is None or sec.role is _ROLE[kind] or sec.size % word:
                continue
            _reverse_words(sec, word)
            sec.role = _ROLE[kind]


def _reverse_words(sec: InputSection, word: int) -> None:
    assert sec.data is not None
    words = np.frombuffer(bytes(sec.data), dtype=np.uint8).reshape(-1, word)
    sec.data = words[::-1].tobytes()
    if len(sec.relocs):
        rows = sec.relocs.rows.copy()
        within = rows["offset"] % word
        rows["offset"] = sec.size - word - (rows["offset"] - within) + within
        sec.relocs = RelocTable(rows, sec.relocs.subtrahend)
