"""`.note.gnu.property`: the inputs' program properties merged into the output's one note.

A property note (NT_GNU_PROPERTY_TYPE_0, owner "GNU") holds an array of (pr_type, pr_datasz,
data) entries, each padded to 8 bytes on ELF64 and 4 on ELF32, sorted by type.  The x86
psABI groups the 32-bit properties by how a link combines them (facts from the psABI's
"Program Property" section, as GNU ld applies them):

- AND  (0xc0000002-0xc0007fff; GNU_PROPERTY_X86_FEATURE_1_AND: IBT, SHSTK): the output
  has a bit only when every input object has it; an object without the property clears all;
- OR   (0xc0008000-0xc000ffff, 0xb0008000-0xb000ffff; ISA_1_NEEDED, FEATURE_2_NEEDED,
  GNU_PROPERTY_1_NEEDED): the union over the objects that have it;
- OR-AND (0xc0010000-0xc0017fff; ISA_1_USED, FEATURE_2_USED): the union, but only when
  every object has the property;

`-z ibt`, `-z shstk` force their FEATURE_1_AND bits and `-z x86-64-vN` an ISA_1_NEEDED bit
whatever the inputs say.  A property whose merged value is 0 is left out, and with nothing
left there is no note.  Properties outside these ranges (GNU_PROPERTY_STACK_SIZE, ...) are
dropped, as are unreadable notes (GNU ld warns; a property note only ever narrows what the
loader enables, so dropping one never turns on a feature the code lacks).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from ..layout import OutputSection
from ..model import ObjectFile, SectionFlags

PROPERTY_NOTE = ".note.gnu.property"
LINKER_MADE = "<linker>"  # synth.SYNTHETIC_PATH (synth imports the layout; this stays light)
SHT_NOTE = 7
NT_GNU_PROPERTY_TYPE_0 = 5
X86_FEATURE_1_AND = 0xC0000002
X86_ISA_1_NEEDED = 0xC0008002
FEATURE_1_IBT, FEATURE_1_SHSTK = 1, 2
# -z x86-64-baseline|v2|v3|v4: the ISA_1_NEEDED bit each one sets.
ISA_LEVELS = {"x86-64-baseline": 1, "x86-64-v2": 2, "x86-64-v3": 4, "x86-64-v4": 8}
Z_FEATURES = {"ibt": FEATURE_1_IBT, "shstk": FEATURE_1_SHSTK}

_AND = (0xC0000002, 0xC0007FFF)
_OR = ((0xC0008000, 0xC000FFFF), (0xB0008000, 0xB000FFFF))
_OR_AND = (0xC0010000, 0xC0017FFF)


def _in(kind: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= kind <= bounds[1]


def read_properties(data: bytes | memoryview, word: int) -> dict[int, int] | None:
    """The 32-bit x86 properties of one note section; None when it is not one we read."""
    data = bytes(data)
    props: dict[int, int] = {}
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        name_end = pos + 12 + -(-namesz // 4) * 4
        desc_end = name_end + descsz
        if desc_end > len(data):
            return None
        if ntype == NT_GNU_PROPERTY_TYPE_0 and data[pos + 12:pos + 12 + namesz] == b"GNU\0":
            at = name_end
            while at + 8 <= desc_end:
                kind, size = struct.unpack_from("<II", data, at)
                if at + 8 + size > desc_end:
                    return None
                if size == 4:
                    props[kind] = struct.unpack_from("<I", data, at + 8)[0]
                at += 8 + -(-size // word) * word
        pos = -(-desc_end // word) * word
    return props


def merge_properties(inputs: Sequence[Mapping[int, int] | None],
                     forced: Mapping[int, int]) -> dict[int, int]:
    """Merge per-object properties (None: the object has no note) by the rules above."""
    merged: dict[int, int] = {}
    kinds = sorted({k for props in inputs if props for k in props} | set(forced))
    for kind in kinds:
        values = [props.get(kind) if props else None for props in inputs]
        present = [v for v in values if v is not None]
        value = 0
        if _in(kind, _AND) or _in(kind, _OR_AND):
            if present and len(present) == len(values):
                value = present[0]
                for v in present[1:]:
                    value = value & v if _in(kind, _AND) else value | v
        elif any(_in(kind, bounds) for bounds in _OR):
            for v in present:
                value |= v
        value |= forced.get(kind, 0)
        if value:
            merged[kind] = value
    return merged


def render_note(props: Mapping[int, int], word: int) -> bytes:
    desc = b"".join(struct.pack("<III", kind, 4, value).ljust(-(-12 // word) * word, b"\0")
                    for kind, value in sorted(props.items()))
    return struct.pack("<III", 4, len(desc), NT_GNU_PROPERTY_TYPE_0) + b"GNU\0" + desc


def merged_property_note(objects: Sequence[ObjectFile], word: int,
                         forced: Mapping[int, int] | None = None) -> bytes | None:
    """The output's property note for these objects, or None when it would be empty."""
    merged = merged_properties(objects, word, forced)
    return render_note(merged, word) if merged else None


def wants_ibt_plt(objects: Sequence[ObjectFile], word: int, forced: Mapping[int, int]) -> bool:
    """GNU ld writes the IBT PLT when the output is marked IBT (-z ibt, or every input)."""
    merged = merged_properties(objects, word, forced)
    return bool(merged.get(X86_FEATURE_1_AND, 0) & FEATURE_1_IBT)


def merged_properties(objects: Sequence[ObjectFile], word: int,
                      forced: Mapping[int, int] | None = None) -> dict[int, int]:
    inputs: list[dict[int, int] | None] = []
    for obj in objects:
        if obj.path == LINKER_MADE:
            # The linker's own GOT/PLT object joins the symbol table's objects after
            # synthesis; it is no input and must not clear an AND property the inputs
            # all have (GNU ld's merge looks at input files only).
            continue
        notes = [sec for sec in obj.sections if sec is not None and sec.file is obj
                 and sec.name == PROPERTY_NOTE and sec.data is not None]
        props: dict[int, int] | None = None
        for sec in notes:
            assert sec.data is not None
            read = read_properties(sec.data, word)
            if read is not None:
                props = {**(props or {}), **read}
        inputs.append(props)
    return merge_properties(inputs, forced or {})


def property_section(note: bytes, word: int) -> OutputSection:
    """The merged note as a synthetic read-only output section of an executable."""
    out = OutputSection(PROPERTY_NOTE, SectionFlags.ALLOC, align=word, size=len(note))
    out.meta.update(type=SHT_NOTE, entsize=0)
    out.render = lambda: note
    return out
