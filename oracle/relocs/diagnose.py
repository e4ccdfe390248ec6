"""The explanations attached to a mismatch: what was missing, where a GOT load points."""

from __future__ import annotations

from .expect import Expectation, encode
from .linked import Linked
from .targets import Target
from .types import Formula, RelocType


def distance(exp: Expectation, actual: bytes) -> int:
    want = encode(exp.value or 0, exp.width)
    return sum(a != b for a, b in zip(want, actual)) + abs(len(want) - len(actual))


def missing(info: RelocType, target: Target, relocatable: bool = False) -> str:
    values = ", ".join(f"{s:#x}" for s in target.s) or "?"
    if info.formula is Formula.GOT_ABS and relocatable:
        return (f"the address of {target.name}'s GOT slot (G + A: no base register) in a "
                "PIE needs a RELATIVE relocation at the field, and there is none (GNU ld, "
                "gold and lld refuse such a link)")
    if info.formula is Formula.ABS and relocatable:
        return (f"an address ({target.name} = {values}) in a PIE needs a dynamic relocation "
                "at the field (RELATIVE or symbolic), and there is none")
    if info.formula in (Formula.PLT_PC, Formula.PLT_OFF):
        return f"no PLT entry jumps through a slot of {target.name}, and it is not defined"
    if info.formula in (Formula.GOT_PC, Formula.GOT_OFF, Formula.GOT_ABS):
        how = "imported, and no GLOB_DAT names it" if target.imported else \
            f"no .got word holds S = {values} and no GLOB_DAT names it"
        return f"no GOT slot for {target.name}: {how}"
    return "no GOT base (_GLOBAL_OFFSET_TABLE_, DT_PLTGOT, .got.plt, .got)"


def pointee(linked: Linked, info: RelocType, addend: int, p: int, actual: bytes) -> str:
    """For a GOT load: which word the field actually points at, and what that word holds."""
    if info.formula not in (Formula.GOT_PC, Formula.GOT_OFF, Formula.GOT_ABS) \
            or len(actual) != info.width:
        return ""
    value = int.from_bytes(actual, "little", signed=True)
    if info.formula is Formula.GOT_PC:
        slot = value + p - addend
    elif info.formula is Formula.GOT_ABS:
        slot = (value - addend) & ((1 << (8 * info.width)) - 1)
    elif linked.got is not None:
        slot = value + linked.got - addend
    else:
        return ""
    image = linked.image
    word = image.read(slot, image.word)
    sec = image.section_at(slot)
    if word is None or sec is None:
        return f"the field points at {slot:#x}, outside every section"
    dyn = [f"{r.kind} {r.symbol}" for r in image.dynamic_at(slot)]
    held = f"holds {int.from_bytes(word, 'little'):#x}"
    return (f"the field points at {slot:#x} (in {sec.name}), which {held}"
            + (f" and has dynamic relocation {', '.join(dyn)}" if dyn else
               " and has no dynamic relocation"))
