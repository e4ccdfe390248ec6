"""What a relocation's symbol stands for in the output: S, G, L, Z candidates.

S comes from the output .symtab by name for global symbols (so that interposition and weak
overriding are honoured), else from where the defining input section landed.  G is a GOT
slot: one the dynamic relocations bind to the symbol (GLOB_DAT, or a word-sized absolute
relocation) or, when the linker resolved the symbol itself, a `.got*` word that holds S.
L is a PLT entry jumping through the symbol's slot, or S itself for a defined symbol.
In a shared library a symbol exported with default visibility is preemptible: its G is
only a slot a dynamic relocation binds to it, and its L only a PLT entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from oracle.records import quick_init

from .image import OutputImage, OutSymbol
from .inputs import InputObject, InputSymbol
from .merge import merge_symbol_values, piece_at

_IFUNC = ("STT_GNU_IFUNC", "STT_LOOS")  # pyelftools names type 10 after its range, STT_LOOS
Placer = Callable[[InputObject, int], tuple[int, ...] | None]  # None: discarded


@dataclass(frozen=True)
class MergePiece:
    """The deduplicated piece a reference into a SHF_MERGE section means."""

    data: bytes
    delta: int  # S + delta is where a copy of the piece starts


@quick_init
@dataclass(frozen=True)
class Target:
    name: str
    s: tuple[int, ...]       # candidate values of S (several only for ambiguous placements)
    imported: bool           # defined in a shared library, not in the output
    g: tuple[int, ...] = ()
    l: tuple[int, ...] = ()
    z: int = 0
    problem: str = ""        # why S is unknown, when s is empty
    piece: MergePiece | None = None  # set when any copy of a merged piece is a valid S
    resolver: int | None = None      # for an IFUNC: its resolver (what IRELATIVE calls)
    # defined in a shared library output and exported with default visibility: another
    # object may interpose it, so only a dynamic relocation naming it may reach it (no
    # RELATIVE, no statically filled GOT slot, no direct call, no relaxation)
    preemptible: bool = False


def _static_got_slots(image: OutputImage, values: tuple[int, ...],
                      absolute: bool = False) -> list[int]:
    """GOT words that hold one of `values` at link time, or get it from a RELATIVE.  In a
    PIE a word holding an address is only right with a RELATIVE relocation on it; an
    absolute symbol's value (SHN_ABS) is not an address, and its word is right without
    one (lld keeps such a GOT load in a PIE; GNU ld relaxes it to an immediate)."""
    words, relative = image.got_words(), image.relative_got_words()
    if absolute and image.relocatable:  # and a RELATIVE on it would add the load bias
        return list(dict.fromkeys(w for value in dict.fromkeys(values)
                                  for w in words.get(value, []) if not image.dynamic_at(w)))

    def relocated(slot: int, value: int) -> bool:
        return not image.relocatable or not value or any(
            r.kind == "RELATIVE" for r in image.dynamic_at(slot))

    return list(dict.fromkeys(
        slot for value in dict.fromkeys(values)
        for slot in [*(w for w in words.get(value, []) if relocated(w, value)),
                     *relative.get(value, [])]))


def merge_piece(obj: InputObject, sym: InputSymbol, addend: int) -> MergePiece | None:
    """For a symbol in a SHF_MERGE section: the piece it refers to.

    A section symbol's piece is looked up at value + A (what GNU ld and lld do; assemblers
    keep a named local symbol when A would step outside the piece), a named symbol's at
    its value.
    """
    if not sym.defined_in_section:
        return None
    assert isinstance(sym.shndx, int)
    sec = obj.sections[sym.shndx]
    if not sec.merge:
        return None
    lookup = sym.value + addend if sym.type == "STT_SECTION" else sym.value
    found = piece_at(sec, lookup)
    if found is None:
        return None
    return MergePiece(found[1], found[0] - sym.value)


def _symbol_values(image: OutputImage, obj: InputObject, sym: InputSymbol, addend: int,
                   place: Placer) -> tuple[tuple[int, ...], bool, str]:
    """(S candidates, imported, problem)."""
    if sym.index == 0:
        return (0,), False, ""
    if sym.shndx == "SHN_ABS":
        return (sym.value,), False, ""
    own = _own_values(image, obj, sym, addend, place)
    if sym.bind == "STB_LOCAL":
        return own
    out = image.globals.get(sym.name)
    if out is not None and out.defined:
        return (out.value,), False, ""
    if out is not None and out.bind == "STB_WEAK" and not out.value:
        return (0,), False, ""  # an undefined weak the linker resolved to 0 itself
    if out is not None:  # an import; a nonzero value is its canonical PLT entry
        return (out.value,), True, ""
    # hidden symbols, and every global of a mold executable, are locals in the output
    local = tuple(s.value for s in image.locals.get(sym.name, []) if s.defined)
    if local:
        if own[0] and set(own[0]) <= set(local):
            return own
        return local, False, ""  # e.g. a weak definition another object overrode
    if not sym.defined_in_section and sym.bind == "STB_WEAK":
        return (0,), False, ""
    return own


def _own_values(image: OutputImage, obj: InputObject, sym: InputSymbol, addend: int,
                place: Placer) -> tuple[tuple[int, ...], bool, str]:
    """S from where the symbol's own input section landed (no name lookup)."""
    if not sym.defined_in_section:
        return (), False, f"{sym.name} is not in the output's symbol tables"
    assert isinstance(sym.shndx, int)
    sec = obj.sections[sym.shndx]
    if sec.merge:
        lookup = sym.value + addend if sym.type == "STT_SECTION" else sym.value
        values = merge_symbol_values(image, sec, lookup, sym.value)
        problem = "" if values else f"no copy of the piece at {sec.name}+{lookup:#x}"
        return tuple(values), False, problem
    bases = place(obj, sym.shndx)
    if bases is None:
        return (), False, f"section {sec.name} was discarded"
    if not bases:
        return (), False, f"section {sec.name} was not found in the output"
    return tuple(b + sym.value for b in bases), False, ""


def resolve(image: OutputImage, obj: InputObject, sym: InputSymbol, addend: int,
            place: Placer, plt: dict[int, list[int]]) -> Target:
    # `.symver f_old, f@V1` leaves an undefined `f@V1` (or `f@@V` for a default) in the
    # object; the output names it `f` and records the version in .gnu.version
    version = ""
    if "@" in sym.name and sym.bind != "STB_LOCAL":
        name, _, version = sym.name.partition("@")
        if version.startswith("@") or sym.defined_in_section:
            version = ""  # a default version: any binding of the name is that one
        sym = replace(sym, name=name)
    s, imported, problem = _symbol_values(image, obj, sym, addend, place)
    named = sym.type != "STT_SECTION" and sym.bind != "STB_LOCAL" and bool(sym.name)
    out = image.globals.get(sym.name) if named else None
    ifunc = _ifunc_symbol(image, sym.name) if named else None
    if ifunc is not None:
        return _ifunc(image, sym.name, (ifunc.value,), ifunc.size, plt)
    if sym.type in _IFUNC and s:
        # a local IFUNC (or one the output lists under another type): its own value is
        # only the resolver, so it too is reached through an IRELATIVE slot
        return _ifunc(image, sym.name, s, sym.size, plt)
    preemptible = named and not imported and image.preemptible(sym.name)
    dyn_slots = image.slots_of(sym.name, ("GLOB_DAT", "64", "32"), version) if named else []
    # absolute as its object defines it: an output's SHN_ABS says less (linkharness writes
    # __start_SEC and __stop_SEC of a PIE as SHN_ABS, relocated by RELATIVE all the same)
    static_slots = [] if imported or preemptible or not s else \
        _static_got_slots(image, s, sym.shndx == "SHN_ABS")
    g = tuple(dict.fromkeys(dyn_slots + static_slots))
    entries: list[int] = []
    if named:
        for slot in image.slots_of(sym.name, ("JUMP_SLOT", "GLOB_DAT"), version):
            entries.extend(plt.get(slot, []))
    if not imported and not preemptible:
        entries = list(s) + entries
    z = out.size if out is not None and out.size else sym.size
    return Target(sym.name, s, imported, g, tuple(dict.fromkeys(entries)), z, problem,
                  merge_piece(obj, sym, addend), preemptible=preemptible)


def _ifunc_symbol(image: OutputImage, name: str) -> OutSymbol | None:
    """The output's IFUNC definition of `name` (hidden ones are local in the output)."""
    out = image.globals.get(name)
    candidates = [out] if out is not None else image.locals.get(name, [])
    return next((c for c in candidates if c.defined and c.type in _IFUNC), None)


def _ifunc(image: OutputImage, name: str, resolvers: tuple[int, ...], size: int,
           plt: dict[int, list[int]]) -> Target:
    """An IFUNC defined in the output (static links): reached through an IRELATIVE slot.

    Calls go through the PLT entry of that slot, GOT loads read the slot, and the address
    of the function is that PLT entry (the canonical address), never the resolver's.
    """
    slots = image.ifunc_slots(resolvers)
    entries = tuple(e for slot in slots for e in plt.get(slot, []))
    # a GOT word may also hold the canonical address (the PLT entry) statically
    slots += [s for s in _static_got_slots(image, entries) if s not in slots]
    problem = "" if entries else f"no IRELATIVE slot and PLT entry for the IFUNC {name}"
    return Target(name, entries, False, tuple(slots), entries, size, problem,
                  resolver=resolvers[0])
