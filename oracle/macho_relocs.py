"""The relocation-field oracle for Mach-O x86-64 (and, through oracle.macho_relocs_i386, i386):
recompute every relocated field of every MH_OBJECT input from the linked executable alone,
and compare.

    check_macho_fields(output, inputs) -> FieldReport     (oracle.relocs' records)

Values, with S the target's address, A the in-place addend, P the field's address,
L the stub of an import (S for a definition), G its GOT slot, T the subtrahend:
  UNSIGNED        S + A; a non-extern field holds an address in the object's own space,
                  which is moved to where its section landed; an import is a bind at P
                  (symbol, addend A) instead, or in a classic file an external relocation
                  at P naming the symbol, with A in the word.  In an MH_PIE image a
                  pointer-sized S + A must also be slid (rebased, or a classic local
                  relocation): else the mismatch is "unslid"
  SIGNED[_N]      S + A - (P + 4) for extern (the assembler folded N into A); non-extern:
                  the field holds target - (P + 4 + N) in object space, recomputed
  BRANCH          L + A - (P + 4)
  GOT_LOAD, GOT   G + A - (P + 4); GOT_LOAD may be relaxed (movq -> leaq, 8b -> 8d) to
                  S + A - (P + 4) for a definition
  SUBTRACTOR+UNSIGNED   S - T + A, each side moved like UNSIGNED's non-extern form
Facts from the Mach-O x86-64 ABI as DESIGN.md records them; no linker code is consulted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOError
from oracle.macho_relocs_i386 import judge_generic
from oracle.macho_relocs_inputs import (
    BRANCH,
    GOT,
    GOT_LOAD,
    SUBTRACTOR,
    TLV,
    TRAILING,
    UNSIGNED,
    MachOObject,
    MachOReloc,
    ObjectError,
    Target,
    read_object,
)
from oracle.macho_relocs_output import Output, Placement
from oracle.macho_relocs_site import (
    MASKS,
    N_ABS,
    N_WEAK_DEF,
    tlv_offset_word,
    tlv_template_start,
)
from oracle.macho_relocs_site import Site as _Site
from oracle.macho_relocs_site import Unresolved as _Unresolved
from oracle.relocs.mismatch import ConfirmedSite, FieldMismatch, FieldReport
from oracle.relocs.unreadable import unreadable

__all__ = ["check_macho_fields"]
# Input sections linkers rebuild (unwind info) or drop (debug info): fields not compared.
REWRITTEN = ("__LD,__compact_unwind", "__TEXT,__eh_frame")
S_ATTR_DEBUG = 0x02000000


Allowed = list[tuple[int, str, bytes | None]]


def _expected(site: _Site) -> Allowed:
    """(value, formula, opcode bytes required at P-2 or None) the field may hold."""
    r, out = site.r, site.out
    inplace = site.obj.inplace(r)
    end = site.p + 4
    if r.subtrahend is not None:
        t_out = _defined(site, r.subtrahend)
        if r.target.extern:
            return [(_defined(site, r.target) - t_out + inplace, "S - T + A", None)]
        # a non-extern minuend: the field holds its address in object space plus the addend
        # (llvm-mc: `.quad L_x + 4 - _t` holds L_x + 4), which moves with its section
        unsigned = site.obj.inplace(r, signed=False)
        return [(m - t_out, "moved(S + A) - T", None) for m in site.moved(r.target, unsigned)]
    if r.type == UNSIGNED and tlv_offset_word(site):
        # a thread-local descriptor's third word: the variable's offset in the template
        start = tlv_template_start(site)
        return [(t - start, "S - TLV template start", None)
                for t in site.moved(r.target, site.obj.inplace(r, signed=False))] \
            if not r.target.extern else [(_defined(site, r.target) + inplace - start,
                                          "S + A - TLV template start", None)]
    if r.type == UNSIGNED:
        if not r.target.extern:
            return [(t, "S + A (moved)", None)
                    for t in site.moved(r.target, site.obj.inplace(r, signed=False))]
        s = site.symbol_address(r.target)
        if s is None:
            return []  # an import: judged through its bind
        return [(s + inplace, "S + A", None)]
    if r.type in TRAILING or (r.type == TLV and not r.generic):
        n = TRAILING.get(r.type, 0)
        if not r.target.extern:
            targets = site.moved(r.target, site.obj_p + 4 + n + inplace)
            return [(t - (end + n), "S - (P + 4 + N)", None) for t in targets]
        s = site.symbol_address(r.target)
        name = site.name(r.target)
        if r.type == BRANCH:
            # a definition may still be called through its stub (ld64.lld does so for weak
            # definitions, which dyld may override)
            targets = [t for t in (s, out.stubs.get(name)) if t is not None]
            if not targets:
                raise _Unresolved("unresolved", f"import {name} has no stub")
            return [(t + inplace - end, "L + A - (P + 4)", None) for t in targets]
        if r.type in (GOT_LOAD, GOT, TLV):
            # TLV: the descriptor's address, loaded from a slot (or leaq'd, relaxed)
            slots = list(out.got.get(name, []))
            if s is not None:
                slots += out.local_got.get(s, [])
            elif site.weak_ref(r.target):
                slots += out.local_got.get(0, [])  # an absent weak import resolved to 0
            values: Allowed = [(g + inplace - end, "G + A - (P + 4)", None) for g in slots]
            if r.type in (GOT_LOAD, TLV) and s is not None:
                values.append((s + inplace - end, "S + A - (P + 4) (movq -> leaq)", b"\x8d"))
            if not values:
                raise _Unresolved("unresolved", f"{name} has no GOT slot")
            return values
        if s is None:
            raise _Unresolved("unresolved", f"pc-relative reference to import {name}")
        return [(s + inplace - end, "S + A - (P + 4)", None)]
    raise _Unresolved("unsupported", f"type {r.type_name} is not checked")


def _defined(site: _Site, t: Target) -> int:
    """The address of one side of a SUBTRACTOR pair, which must be a definition."""
    if not t.extern:
        raise _Unresolved("unsupported", "SUBTRACTOR with a non-extern subtrahend")
    s = site.symbol_address(t)
    if s is None:
        raise _Unresolved("unresolved", f"difference with import {site.name(t)}")
    return s


def _judge(site: _Site) -> FieldMismatch | ConfirmedSite | None:
    r, out = site.r, site.out
    name = site.name(r.target)
    actual = out.read(site.p, r.width) or b""
    if r.type == UNSIGNED and r.target.extern and r.subtrahend is None \
            and site.symbol_address(r.target) is None:
        bound = out.binds.get(site.p)
        addend = site.obj.inplace(r)
        if bound == (name, addend):
            return ConfirmedSite(site.obj.path, site.section_name, r.offset, r.type_name, name,
                                 site.p, r.width, site.p, "bind S + A", "dynamic")
        if not out.img.dyld_info and out.img.chained_fixups is None:
            # classic: an LC_DYSYMTAB external relocation of the symbol, the addend in the
            # word (dyld adds the symbol's address to what the pointer holds)
            held = int.from_bytes(actual, "little", signed=True) if actual else None
            named = out.extrel.get(site.p)
            if named == name and held == addend:
                return ConfirmedSite(site.obj.path, site.section_name, r.offset, r.type_name,
                                     name, site.p, r.width, site.p, "external relocation S + A",
                                     "dynamic")
            return FieldMismatch("unresolved", site.obj.path, site.section_name, r.offset,
                                 r.type_name, name, address=site.p,
                                 detail=f"no external relocation of {name} with addend "
                                        f"{addend} at {site.p:#x} (found {named}, the word "
                                        f"holds {held})")
        return FieldMismatch("unresolved", site.obj.path, site.section_name, r.offset,
                             r.type_name, name, address=site.p,
                             detail=f"no bind of {name}+{addend} at {site.p:#x} (found {bound})")
    if r.type == UNSIGNED and r.target.extern and r.subtrahend is None \
            and out.img.chained_fixups is not None \
            and out.binds.get(site.p) == (name, site.obj.inplace(r)):
        # a pointer to a weak definition, which dyld coalesces: with chained fixups a bind
        # (to the weak-lookup ordinal) in place of the rebase
        return ConfirmedSite(site.obj.path, site.section_name, r.offset, r.type_name, name,
                             site.p, r.width, site.p, "weak bind S + A", "dynamic")
    allowed = _expected(site)
    mask = MASKS[r.width]
    for value, formula, opcode in allowed:
        if opcode is not None and out.read(site.p - 2, 1) != opcode:
            continue
        if actual == (value & mask).to_bytes(r.width, "little"):
            if r.type == UNSIGNED and r.subtrahend is None and r.width == out.img.word \
                    and out.slid is not None and site.p not in out.slid \
                    and not tlv_offset_word(site) \
                    and not site.is_absolute(r.target):  # a value, which no slide moves
                return FieldMismatch(
                    "unslid", site.obj.path, site.section_name, r.offset, r.type_name, name,
                    formula=formula, address=site.p,
                    detail="holds an address in the MH_PIE image, but nothing slides it (no "
                           "rebase, no local relocation): loaded at a slide it keeps its "
                           "link-time value")
            return ConfirmedSite(site.obj.path, site.section_name, r.offset, r.type_name, name,
                                 site.p, r.width, site.p, formula, "relaxed" if opcode else "")
    value, formula, _ = allowed[0]
    return FieldMismatch("value", site.obj.path, site.section_name, r.offset, r.type_name,
                         name, formula=formula, expected=(value & mask).to_bytes(r.width, "little"),
                         actual=actual, address=site.p,
                         detail=f"{len(allowed)} acceptable value(s)")


def _coalesced_away(out: Output, obj: MachOObject, place: Placement, r: MachOReloc) -> bool:
    """True when the field lies in the atom of a weak definition whose name the output
    gives to another definition: the linker dropped that copy, and its fields with it."""
    sect = obj.sections[r.section]
    site = sect.addr + r.offset
    atoms = [s for s in obj.symbols if s.defined_in_section and s.sect == r.section + 1
             and s.value <= site and s.name and not s.name.startswith(("l", "L"))]
    if not atoms:
        return False
    owner = max(atoms, key=lambda s: s.value)
    if not owner.desc & N_WEAK_DEF or owner.name not in out.external:
        return False
    placed = place.address(r.section, owner.value - sect.addr)
    return out.external[owner.name] not in placed


def check_macho_fields(output: str | Path, inputs: Sequence[str | Path]) -> FieldReport:
    """Every relocation of every MH_OBJECT input, recomputed from `output` and compared.
    A file that cannot be read is the report: one "unreadable" mismatch naming it."""
    # a judge must not die on the thing it judges: an unreadable file is the finding
    reading = str(output)
    try:
        out = Output(output)
        objects = []
        for path in inputs:
            reading = str(path)
            objects.append(read_object(path, out.img.cputype))
    except (MachOError, ObjectError, OSError) as err:
        return unreadable(reading, err, "Mach-O")
    # an external absolute symbol (N_ABS) has the value its defining input gives it, moved by
    # nothing; linkers may leave it out of the output's symbol table
    for obj in objects:
        for sym in obj.symbols:
            if sym.type & 0x0F == N_ABS | 1 and sym.name not in out.external:
                out.absolute.setdefault(sym.name, int(sym.value))
    mismatches: list[FieldMismatch] = []
    confirmed: list[ConfirmedSite] = []
    skipped: dict[str, int] = {}
    cursor: dict[str, int] = {}  # output section name -> end of the last input placed in it
    for obj in objects:
        place = Placement(out, obj, cursor)
        for r in obj.relocs:
            sect = obj.sections[r.section]
            if sect.name in REWRITTEN or sect.flags & S_ATTR_DEBUG:
                skipped[sect.name] = skipped.get(sect.name, 0) + 1
                continue
            if r.type == SUBTRACTOR and not r.generic:  # judged with its UNSIGNED
                skipped[r.type_name] = skipped.get(r.type_name, 0) + 1
                continue
            if sect.type == mi.S_NON_LAZY_SYMBOL_POINTERS:
                # an object's own pointer (i386 `L_x$non_lazy_ptr` of a local definition)
                # is merged into the output's slot: judged where code reads it, not here
                skipped["object symbol pointer"] = skipped.get("object symbol pointer", 0) + 1
                continue
            if _coalesced_away(out, obj, place, r):
                skipped["in a weak definition that lost"] = (
                    skipped.get("in a weak definition that lost", 0) + 1)
                continue
            try:
                site = _Site(out, obj, place, r)
                verdict = judge_generic(site) if r.generic else _judge(site)
            except _Unresolved as err:
                if err.kind == "unsupported":
                    skipped[r.type_name] = skipped.get(r.type_name, 0) + 1
                    continue
                mismatches.append(FieldMismatch(err.kind, obj.path, sect.name, r.offset,
                                                r.type_name, "", detail=err.detail))
                continue
            if verdict is None:
                skipped["classic import pointer"] = skipped.get("classic import pointer", 0) + 1
            elif isinstance(verdict, ConfirmedSite):
                confirmed.append(verdict)
            else:
                mismatches.append(verdict)
    return FieldReport(tuple(mismatches), tuple(confirmed), skipped)
