"""The output and the inputs together: what the checker learns once and reuses.

Where each input section went (cached; a section without symbols is also found through
the fields of its object that point into it, and one made only of pointers, such as a
`.ctors` list, through the values it holds), the PLT entries decoded from the output, the
COMDAT groups the linker must have dropped, and the GOT base currently being tried.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict

from oracle.regular_file import read_regular

from .image import OutputImage
from .inputs import InputObject, InputReloc, InputSymbol
from .mismatch import ConfirmedSite, FieldMismatch
from .placement import (
    MAX_CANDIDATES,
    Placement,
    matches_at,
    mirrored_in,
    mirrored_offset,
    place_section,
    relocated_mask,
)
from .plt import plt_entries
from .targets import Target, resolve
from .types import Formula, Range, lookup

_SOLVABLE = (Formula.ABS, Formula.PC, Formula.REL_GOT)


class Linked:
    """The output plus everything learned about where the inputs went (cached per section)."""

    def __init__(self, image: OutputImage, objects: list[InputObject],
                 hints: dict[tuple[str, int], int]) -> None:
        self.image = image
        self.got: int | None = image.got_base
        self.objects = objects
        self.hints = hints
        self.plt = plt_entries(image)
        self.discarded = _comdat_losers(objects)
        self.ordinals = _file_ordinals(objects)
        self.lost = _lost_weak_definitions(objects)
        self._placements: dict[tuple[int, int], Placement] = {}
        self._basics: dict[tuple[int, int], Placement] = {}
        self._references: dict[int, dict[int, list[InputReloc]]] = {}
        self._targets: dict[tuple[int, int, int], Target] = {}
        # check.py's verdicts by (object, relocation, section base, GOT base), as ids and
        # addresses (the objects are held by self.objects, so their ids stay theirs)
        self.verdicts: dict[tuple[int, int, int, int | None], FieldMismatch | ConfirmedSite] = {}

    def placement(self, obj: InputObject, index: int) -> Placement:
        """Where the section went: by its symbols or the map, else by the references other
        (already placed) sections of its object make to it, else by its bytes alone."""
        key = (id(obj), index)
        if key not in self._placements:
            basic = self._basic(obj, index)
            result = basic
            if basic.how not in ("symbol", "map"):
                referenced = self._referenced_bases(obj, index)
                if referenced:
                    result = Placement(tuple(referenced[:MAX_CANDIDATES]), "references")
                elif not basic.candidates:
                    pointed = self._pointer_bases(obj, index)
                    if pointed:
                        result = Placement(tuple(pointed[:MAX_CANDIDATES]), "pointers")
            self._placements[key] = result
        return self._placements[key]

    def target(self, obj: InputObject, sym: InputSymbol, addend: int) -> Target:
        """What `sym` + `addend` of `obj` stands for in the output (targets.resolve), once
        per symbol and addend: the relocations naming it, and every GOT base tried, ask
        again.  Nothing it reads changes during a check (placements are kept once found,
        and the GOT base is not among its inputs)."""
        key = (id(obj), sym.index, addend)
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = resolve(self.image, obj, sym, addend, self.place,
                                                 self.plt)
        return found

    def _basic(self, obj: InputObject, index: int) -> Placement:
        key = (id(obj), index)
        if key not in self._basics:
            hint = self.hints.get((os.path.abspath(obj.path), index))
            self._basics[key] = place_section(
                self.image, obj, obj.sections[index], self.ordinals[id(obj)], hint,
                self.lost.get(id(obj), frozenset()))
        return self._basics[key]

    def _referenced_bases(self, obj: InputObject, index: int) -> list[int]:
        """Bases implied by absolute and pc-relative fields that point into the section
        from sections placed by their symbols, most votes first, confirmed by the bytes."""
        if id(obj) not in self._references:
            refs: dict[int, list[InputReloc]] = defaultdict(list)
            for rel in obj.relocs:
                sym = obj.symbols[rel.symbol] if rel.symbol < len(obj.symbols) else None
                if sym is not None and isinstance(sym.shndx, int) and sym.shndx != rel.section:
                    refs[sym.shndx].append(rel)
            self._references[id(obj)] = refs
        votes: Counter[int] = Counter()
        word_mask = (1 << (8 * self.image.word)) - 1
        for rel in self._references[id(obj)].get(index, []):
            info = lookup(obj.machine, rel.type)
            source = self._basic(obj, rel.section)
            if info is None or info.formula not in _SOLVABLE or info.width < 4 or \
                    source.how not in ("symbol", "map") or len(source.candidates) != 1:
                continue
            p = source.candidates[0] + rel.offset
            field = self.image.read(p, info.width)
            if field is None:
                continue
            s = int.from_bytes(field, "little", signed=info.range is Range.SIGNED) - rel.addend
            # S + A - GOT (i386 PIC code): every GOT base is tried, the bytes decide
            offsets = {Formula.ABS: [0], Formula.PC: [p],
                       Formula.REL_GOT: self.image.got_base_candidates()}[info.formula]
            for offset in offsets:
                votes[(s + offset - obj.symbols[rel.symbol].value) & word_mask] += 1
        sec = obj.sections[index]
        mask = relocated_mask(obj, sec)
        return [b for b, _ in votes.most_common() if matches_at(self.image, sec, mask, b)]

    def _pointer_bases(self, obj: InputObject, index: int) -> list[int]:
        """Bases implied by the section's own word-sized absolute pointers, found among the
        output's words.  A .ctors list is nothing but such pointers, has no symbols, and
        nothing refers to it; GNU ld copies it reversed into .init_array, so only the
        values it holds say where it went."""
        sec = obj.sections[index]
        word = self.image.word
        word_mask = (1 << (8 * word)) - 1
        votes: Counter[int] = Counter()
        for rel in obj.relocs_by_section.get(index, ()):
            info = lookup(obj.machine, rel.type)
            sym = obj.symbols[rel.symbol] if rel.symbol < len(obj.symbols) else None
            if info is None or info.formula is not Formula.ABS or info.width != word or \
                    sym is None or sym.shndx == index:
                continue  # (a pointer into the section itself would need its own base)
            target = resolve(self.image, obj, sym, rel.addend, self._place_known, self.plt)
            if target.imported:
                continue
            for s in target.s:
                needle = ((s + rel.addend) & word_mask).to_bytes(word, "little")
                for out in self.image.sections:
                    if out.nobits:
                        continue
                    mirrored = mirrored_in(sec, out.name)
                    at = out.data.find(needle)
                    while at >= 0:
                        if (out.addr + at) % word == 0:
                            offset = mirrored_offset(sec, rel.offset, word) if mirrored \
                                else rel.offset
                            votes[out.addr + at - offset] += 1
                        at = out.data.find(needle, at + 1)
        mask = relocated_mask(obj, sec)
        return [b for b, _ in votes.most_common() if matches_at(self.image, sec, mask, b)]

    def _place_known(self, obj: InputObject, index: int) -> tuple[int, ...] | None:
        """Placement without the pointer search (so that two sections pointing at each
        other cannot recurse)."""
        if (id(obj), index) in self.discarded:
            return None
        key = (id(obj), index)
        if key in self._placements:
            return self._placements[key].candidates
        return self._basic(obj, index).candidates

    def place(self, obj: InputObject, index: int) -> tuple[int, ...] | None:
        if (id(obj), index) in self.discarded:
            return None
        return self.placement(obj, index).candidates


def _comdat_losers(objects: list[InputObject]) -> set[tuple[int, int]]:
    """Sections of a COMDAT group whose signature an earlier input already provided."""
    seen: set[str] = set()
    losers: set[tuple[int, int]] = set()
    for obj in objects:
        for signature, members in obj.comdat:
            if signature in seen:
                losers.update((id(obj), m) for m in members)
            seen.add(signature)
    return losers


def _lost_weak_definitions(objects: list[InputObject]) -> dict[int, frozenset[int]]:
    """Per object, the symbol indices of weak definitions that do not win: a strong
    definition elsewhere, or an earlier weak one, provides the name in the output."""
    strong: set[str] = set()
    first_weak: dict[str, int] = {}
    for obj in objects:
        for sym in obj.symbols:
            if not sym.defined_in_section or sym.bind == "STB_LOCAL":
                continue
            if sym.bind == "STB_WEAK":
                first_weak.setdefault(sym.name, id(obj))
            else:
                strong.add(sym.name)
    lost: dict[int, set[int]] = defaultdict(set)
    for obj in objects:
        for sym in obj.symbols:
            if sym.bind == "STB_WEAK" and sym.defined_in_section and (
                    sym.name in strong or first_weak.get(sym.name) != id(obj)):
                lost[id(obj)].add(sym.index)
    return {k: frozenset(v) for k, v in lost.items()}


def _file_ordinals(objects: list[InputObject]) -> dict[int, int]:
    """How many earlier inputs carry the same STT_FILE name (to pick the right locals)."""
    counts: Counter[str | None] = Counter()
    ordinals: dict[int, int] = {}
    for obj in objects:
        ordinals[id(obj)] = counts[obj.file_name]
        counts[obj.file_name] += 1
    return ordinals


def read_hints(link_map: str | None) -> dict[tuple[str, int], int]:
    """Where the link map says each input section went.  ValueError (or OSError) for a
    map that is not a regular file of linkharness's JSON: a hint is read like any input,
    and /dev/zero, nesting past the parser's recursion or a string where an index goes
    must be the caller's finding, not a traceback."""
    if link_map is None:
        return {}
    try:
        data = json.loads(read_regular(link_map))
    except RecursionError:
        raise ValueError(f"{link_map}: JSON nested too deeply") from None
    sections = data.get("sections", []) if isinstance(data, dict) else None
    if not isinstance(sections, list):
        raise ValueError(f"{link_map}: not a link map (no list of sections)")  # noqa: TRY004
    hints: dict[tuple[str, int], int] = {}
    for s in sections:
        if not isinstance(s, dict) or "index" not in s or "file" not in s:
            continue
        where, index, address = s["file"], s["index"], s.get("address")
        if not (isinstance(where, str) and type(index) is int and type(address) is int):
            raise ValueError(f"{link_map}: a section's file, index or address is not a "
                             "string, an integer and an integer")
        hints[(os.path.abspath(where), index)] = address
    return hints
