"""check_fields: recompute every relocated field of every input from the output alone."""

from __future__ import annotations

import json
import os
import struct
from collections import Counter
from collections.abc import Sequence

from elftools.common.exceptions import ELFError

from .disasm import context
from .expect import Expectation, encode, fits, formula
from .image import OutputImage, read_image
from .inputs import InputObject, InputReloc, InputSection, is_relocatable, read_object
from .mismatch import ConfirmedSite, FieldMismatch, FieldReport
from .placement import Placement, place_section
from .plt import plt_entries
from .relax import relaxed
from .targets import Target, resolve
from .types import Formula, Range, RelocType, is_none, lookup, type_name

# Input sections linkers rebuild rather than copy: their fields are not compared.
_REWRITTEN = (".eh_frame", ".note.gnu.property", ".sframe")


class _Linked:
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
        self._placements: dict[tuple[int, int], Placement] = {}

    def placement(self, obj: InputObject, index: int) -> Placement:
        key = (id(obj), index)
        if key not in self._placements:
            hint = self.hints.get((os.path.abspath(obj.path), index))
            self._placements[key] = place_section(
                self.image, obj, obj.sections[index], self.ordinals[id(obj)], hint)
        return self._placements[key]

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


def _file_ordinals(objects: list[InputObject]) -> dict[int, int]:
    """How many earlier inputs carry the same STT_FILE name (to pick the right locals)."""
    counts: Counter[str | None] = Counter()
    ordinals: dict[int, int] = {}
    for obj in objects:
        ordinals[id(obj)] = counts[obj.file_name]
        counts[obj.file_name] += 1
    return ordinals


def _read_hints(link_map: str | None) -> dict[tuple[str, int], int]:
    if link_map is None:
        return {}
    with open(link_map) as f:
        data = json.load(f)
    return {(os.path.abspath(s["file"]), int(s["index"])): int(s["address"])
            for s in data.get("sections", []) if "index" in s and "file" in s}


def _expectations(linked: _Linked, obj: InputObject, sec: InputSection, rel: InputReloc,
                  info: RelocType, p: int, target: Target) -> list[Expectation]:
    image = linked.image
    a, w, rng = rel.addend, info.width, info.range
    got = linked.got
    out: list[Expectation] = []

    def add(terms: list[tuple[str, str, int]], opcodes: tuple[tuple[int, bytes], ...] = ()) -> None:
        value, text = formula(terms)
        out.append(Expectation(value, text, p, w, rng, opcodes))

    original: tuple[tuple[int, bytes], ...] = ()
    if info.relaxable:
        # the unrelaxed form keeps the instruction's bytes as the compiler wrote them
        lo = max(rel.offset - (3 if info.name.endswith("REX_GOTPCRELX") else 2), 0)
        original = ((p - (rel.offset - lo), sec.data[lo:rel.offset]),)
    f = info.formula
    if f is Formula.ABS:
        for s in target.s:
            if not (target.imported and s == 0):
                add([("+", "S", s), ("+", "A", a)])
        if target.imported:  # GNU ld (i386) stores an import's PLT entry without making
            for entry in target.l:  # it canonical; the pointer still reaches the function
                add([("+", "L", entry), ("+", "A", a)])
        for slot in image.dynrelocs:
            if slot.offset == p and slot.symbol == target.name and slot.kind in ("64", "32"):
                value = None if slot.addend is not None else a
                out.append(Expectation(value, f"dynamic relocation at {p:#x} for {target.name}"
                                       f" (A = {a:#x})", p, w, rng, rule="dynamic"))
        if target.resolver is not None and a == 0 and p in image.ifunc_slots((target.resolver,)):
            # mold: a pointer to an IFUNC in data is itself filled by IRELATIVE at startup
            out.append(Expectation(None, f"IRELATIVE at {p:#x} calls the resolver "
                                   f"{target.resolver:#x}", p, w, rng, rule="dynamic"))
    elif f is Formula.PC:
        for s in target.s:
            add([("+", "S", s), ("+", "A", a), ("-", "P", p)])
        if target.imported:  # `call printf` in non-PIC i386 code: PC32 through the PLT
            for entry in target.l:
                add([("+", "L", entry), ("+", "A", a), ("-", "P", p)])
    elif f is Formula.PLT_PC:
        for entry in target.l:
            add([("+", "L", entry), ("+", "A", a), ("-", "P", p)])
    elif f is Formula.GOT_PC:
        for slot_addr in target.g:
            add([("+", "G", slot_addr), ("+", "A", a), ("-", "P", p)], original)
    elif f is Formula.GOT_OFF and got is not None:
        for slot_addr in target.g:
            add([("+", "G", slot_addr), ("+", "A", a), ("-", "GOT", got)], original)
    elif f is Formula.REL_GOT and got is not None:
        for s in target.s:
            add([("+", "S", s), ("+", "A", a), ("-", "GOT", got)])
    elif f is Formula.GOT_BASE_PC and got is not None:
        add([("+", "GOT", got), ("+", "A", a), ("-", "P", p)])
    elif f is Formula.SIZE:
        add([("+", "Z", target.z), ("+", "A", a)])
    if target.piece is not None and f in (Formula.ABS, Formula.PC, Formula.REL_GOT):
        out.extend(_any_copy(linked, info, rel, p, target))
    if info.relaxable and not target.imported:
        before = sec.data[max(rel.offset - 3, 0):rel.offset].rjust(3, b"\0")
        rex = info.name.endswith("REX_GOTPCRELX")
        for s in target.s:
            out.extend(relaxed(obj.machine, before, p, s, a, got, rex))
    return out


def _any_copy(linked: _Linked, info: RelocType, rel: InputReloc, p: int,
              target: Target) -> list[Expectation]:
    """Accept the field if it designates any copy of the merged piece (tail-merged too).

    S is solved from the actual field and confirmed by the piece's bytes at S + delta, so
    copies beyond the enumerated candidates are found as well.
    """
    image = linked.image
    assert target.piece is not None
    actual = image.read(p, info.width)
    if actual is None:
        return []
    raw = int.from_bytes(actual, "little", signed=info.range is Range.SIGNED)
    rest = {Formula.ABS: rel.addend, Formula.PC: rel.addend - p,
            Formula.REL_GOT: rel.addend - (linked.got or 0)}[info.formula]
    s = (raw - rest) & ((1 << (8 * image.word)) - 1)
    if image.read(s + target.piece.delta, len(target.piece.data)) != target.piece.data:
        return []
    terms = {Formula.ABS: [("+", "S", s), ("+", "A", rel.addend)],
             Formula.PC: [("+", "S", s), ("+", "A", rel.addend), ("-", "P", p)],
             Formula.REL_GOT: [("+", "S", s), ("+", "A", rel.addend),
                               ("-", "GOT", linked.got or 0)]}[info.formula]
    value, text = formula(terms)
    return [Expectation(value, text, p, info.width, info.range)]


def _holds(image: OutputImage, exp: Expectation) -> bool:
    for addr, want in exp.opcodes:
        if image.read(addr, len(want)) != want:
            return False
    if exp.value is None:
        return image.read(exp.field, exp.width) is not None
    return image.read(exp.field, exp.width) == encode(exp.value, exp.width)


def _check_reloc(linked: _Linked, obj: InputObject, sec: InputSection, rel: InputReloc,
                 base: int) -> FieldMismatch | ConfirmedSite:
    image = linked.image
    p = base + rel.offset
    sym = obj.symbols[rel.symbol] if rel.symbol < len(obj.symbols) else None
    name = sym.name if sym is not None else f"#{rel.symbol}"

    def mismatch(kind: str, **more: object) -> FieldMismatch:
        return FieldMismatch(kind, obj.path, sec.name, rel.offset,
                             type_name(obj.machine, rel.type), name, address=p,
                             disassembly=context(image, p, base), **more)  # type: ignore[arg-type]

    info = lookup(obj.machine, rel.type)
    if info is None:
        return mismatch("unsupported", detail="the field oracle cannot check this type")
    if sym is None:
        return mismatch("unresolved", detail=f"symbol index {rel.symbol} out of range")
    target = resolve(image, obj, sym, rel.addend, linked.place, linked.plt)
    actual = image.read(p, info.width) or b""
    expectations = _expectations(linked, obj, sec, rel, info, p, target)
    for exp in expectations:
        if _holds(image, exp):
            if exp.value is not None and not fits(exp.value, exp.width, exp.range):
                return mismatch("overflow", formula=exp.formula, actual=actual,
                                expected=encode(exp.value, exp.width),
                                detail=f"{exp.value:#x} does not fit a {exp.range.value} "
                                       f"{8 * exp.width}-bit field")
            return ConfirmedSite(obj.path, sec.name, rel.offset, info.name, name, p, exp.width,
                                 exp.field, exp.formula, exp.rule)
    lo = max(rel.offset - 2, 0)
    rewritten = info.relaxable and image.read(p - (rel.offset - lo), rel.offset - lo) != \
        sec.data[lo:rel.offset]
    candidates = [e for e in expectations if bool(e.rule) == rewritten]
    notes = [_pointee(linked, info, rel.addend, p, actual)] if not rewritten else []
    if not candidates:
        notes.insert(0, target.problem or _missing(info, target))
        return mismatch("relaxation" if rewritten else "unresolved", actual=actual,
                        detail="; ".join(n for n in notes if n))
    # of several acceptable values, report the one nearest the actual bytes: the entry or
    # slot the linker most plausibly meant
    first = min(candidates, key=lambda e: _distance(e, actual))
    others = "; ".join(e.formula + (f" [{e.rule}]" if e.rule else "")
                       for e in expectations if e is not first)
    if others:
        notes.append(f"also acceptable: {others}")
    return mismatch("relaxation" if rewritten else "value", formula=first.formula,
                    actual=actual, expected=encode(first.value or 0, first.width),
                    detail="; ".join(n for n in notes if n))


def _distance(exp: Expectation, actual: bytes) -> int:
    want = encode(exp.value or 0, exp.width)
    return sum(a != b for a, b in zip(want, actual)) + abs(len(want) - len(actual))


def _missing(info: RelocType, target: Target) -> str:
    values = ", ".join(f"{s:#x}" for s in target.s) or "?"
    if info.formula is Formula.PLT_PC:
        return f"no PLT entry jumps through a slot of {target.name}, and it is not defined"
    if info.formula in (Formula.GOT_PC, Formula.GOT_OFF):
        how = "imported, and no GLOB_DAT names it" if target.imported else \
            f"no .got word holds S = {values} and no GLOB_DAT names it"
        return f"no GOT slot for {target.name}: {how}"
    return "no GOT base (_GLOBAL_OFFSET_TABLE_, DT_PLTGOT, .got.plt, .got)"


def _pointee(linked: _Linked, info: RelocType, addend: int, p: int, actual: bytes) -> str:
    """For a GOT load: which word the field actually points at, and what that word holds."""
    if info.formula not in (Formula.GOT_PC, Formula.GOT_OFF) or len(actual) != info.width:
        return ""
    value = int.from_bytes(actual, "little", signed=True)
    if info.formula is Formula.GOT_PC:
        slot = value + p - addend
    elif linked.got is not None:
        slot = value + linked.got - addend
    else:
        return ""
    image = linked.image
    word = image.read(slot, image.word)
    sec = image.section_at(slot)
    if word is None or sec is None:
        return f"the field points at {slot:#x}, outside every section"
    dyn = [f"{r.kind} {r.symbol}" for r in image.dynrelocs if r.offset == slot]
    held = f"holds {int.from_bytes(word, 'little'):#x}"
    return (f"the field points at {slot:#x} (in {sec.name}), which {held}"
            + (f" and has dynamic relocation {', '.join(dyn)}" if dyn else
               " and has no dynamic relocation"))


_Verdicts = list[FieldMismatch | ConfirmedSite]


def _check_section(linked: _Linked, obj: InputObject, sec: InputSection,
                   relocs: list[InputReloc], skipped: Counter[str]) -> _Verdicts:
    """Check the section's fields at each candidate placement; keep the best one."""
    placement = linked.placement(obj, sec.index)
    if not placement.candidates:
        skipped["in unplaced sections"] += len(relocs)
        return [FieldMismatch("unplaced", obj.path, sec.name, 0, "-", "",
                              detail=f"{len(relocs)} relocations not checked: the section's "
                                     "bytes were not found in the output")]
    best: _Verdicts | None = None
    best_bad = 0
    for base in placement.candidates:
        verdicts: _Verdicts = [_check_reloc(linked, obj, sec, rel, base) for rel in relocs]
        bad = sum(isinstance(v, FieldMismatch) for v in verdicts)
        if best is None or bad < best_bad:
            best, best_bad = verdicts, bad
        if not bad:
            break
    assert best is not None
    return best


def check_fields_report(output: str, inputs: Sequence[str], *,
                        link_map: str | None = None) -> FieldReport:
    """Check every relocation of the ET_REL files among `inputs` against `output`.

    The GOT base is the one free parameter: linkers differ in which address GOT-relative
    fields count from, and any choice works as long as the whole output agrees on it.  The
    oracle tries each candidate and keeps the one under which the fewest fields disagree.
    """
    try:
        image = read_image(output)
        paths = [str(p) for p in inputs]
        objects = [read_object(p) for p in paths if is_relocatable(p)]
    except (ELFError, struct.error, ValueError, OSError) as e:
        # a judge must not die on the thing it judges: say which file and why
        raise ValueError(f"cannot read {output} or its inputs as ELF: {e}") from e
    linked = _Linked(image, objects, _read_hints(link_map))
    best: FieldReport | None = None
    bases: list[int | None] = [*image.got_base_candidates()] or [None]
    for got in bases:
        linked.got = got
        report = _check_all(linked)
        report.skipped["non-relocatable inputs"] = len(paths) - len(objects)
        if best is None or len(report.mismatches) < len(best.mismatches):
            best = report
        if not report.mismatches or not _uses_got_base(objects):
            break
    assert best is not None
    return FieldReport(best.mismatches, best.confirmed,
                       {k: v for k, v in best.skipped.items() if v}, best.got_base)


def _uses_got_base(objects: list[InputObject]) -> bool:
    relative = (Formula.GOT_OFF, Formula.REL_GOT, Formula.GOT_BASE_PC)
    return any((info := lookup(obj.machine, rel.type)) is not None and info.formula in relative
               for obj in objects for rel in obj.relocs)


def _check_all(linked: _Linked) -> FieldReport:
    skipped: Counter[str] = Counter()
    mismatches: list[FieldMismatch] = []
    confirmed: list[ConfirmedSite] = []
    for obj in linked.objects:
        skipped["in non-alloc sections"] += obj.non_alloc_relocs
        by_section: dict[int, list[InputReloc]] = {}
        for rel in obj.relocs:
            sec = obj.sections[rel.section]
            if is_none(rel.type):
                skipped["R_*_NONE"] += 1
            elif (id(obj), sec.index) in linked.discarded:
                skipped["in discarded COMDAT sections"] += 1
            elif sec.name in _REWRITTEN:
                skipped[f"in {sec.name}"] += 1
            elif sec.merge:
                skipped["in merge sections"] += 1
            else:
                by_section.setdefault(sec.index, []).append(rel)
        for index, relocs in by_section.items():
            for verdict in _check_section(linked, obj, obj.sections[index], relocs, skipped):
                if isinstance(verdict, FieldMismatch):
                    mismatches.append(verdict)
                else:
                    confirmed.append(verdict)
    return FieldReport(tuple(mismatches), tuple(confirmed), dict(skipped), linked.got)


def check_fields(output: str, inputs: Sequence[str], *,
                 link_map: str | None = None) -> list[FieldMismatch]:
    """Every relocation field of `output` that disagrees with `inputs` (empty: all agree)."""
    return list(check_fields_report(output, inputs, link_map=link_map).mismatches)
