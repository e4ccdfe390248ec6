"""Fields of non-allocated sections (DWARF, mostly): recomputed from the output alone.

Debug sections have no addresses.  Every linker concatenates each one's inputs in link
order (aligned), and a field is then one of:

* an address, S + A, of code or data (DW_AT_low_pc, DW_OP_addr, a line-table
  DW_LNE_set_address, an arange): S is where the symbol's section went in the image;
* an offset into another debug section (a unit's abbreviation offset, DW_FORM_strp,
  DW_AT_stmt_list): S is where the target input section went *within its output
  section*; for a merged string section (.debug_str, .debug_line_str) the offset must
  name the same string the input named, wherever the merge put it;
* a TLS block offset (R_X86_64_DTPOFF32/64, R_386_TLS_LDO_32): S + A - the PT_TLS address;
* an offset from the GOT base (R_386_GOTOFF: gcc -m32 -fPIC -g describes a call-site
  parameter as a spilled GOT pointer plus `.LCn@GOTOFF`): S + A - GOT, where a merged
  string's S is wherever the merge put the string (the field must reach the same bytes).

A field referring to a discarded COMDAT copy holds a tombstone (0, 1, all ones, all ones
but one: lld, mold, linkharness) or an address in the image's code (GNU ld and gold point
it at the kept copy).  Inputs are placed by their bytes, relocated fields masked; where
several inputs look alike, by the place under which their fields hold.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass

from .elf_file import SHF_ALLOC, SHF_MERGE, SHT_PROGBITS, ElfFile, read_elf
from .image import OutputImage
from .inputs import InputObject, InputReloc, InputSection, InputSymbol
from .linked import Linked
from .mismatch import ConfirmedSite, FieldMismatch
from .types import lookup, type_name

SHF_COMPRESSED = 0x800
_DTPOFF = ("R_X86_64_DTPOFF32", "R_X86_64_DTPOFF64", "R_386_TLS_LDO_32")
_DTPOFF_WIDTH = {"R_X86_64_DTPOFF32": 4, "R_X86_64_DTPOFF64": 8, "R_386_TLS_LDO_32": 4}


@dataclass(frozen=True)
class DebugReport:
    mismatches: tuple[FieldMismatch, ...]
    confirmed: tuple[ConfirmedSite, ...]
    skipped: dict[str, int]


def read_non_alloc(output: str | ElfFile) -> dict[str, bytes]:
    """The output's non-allocated sections by name, decompressed (SHF_COMPRESSED undone)."""
    elf = read_elf(output) if isinstance(output, str) else output
    out = {}
    for s in elf.sections:
        if s.flags & SHF_ALLOC or s.type != SHT_PROGBITS:
            continue
        try:
            out[s.name] = elf.contents(s)
        except (zlib.error, ValueError, OverflowError, MemoryError):
            continue  # a corrupt (hostile) compressed section: nothing to judge
    return out


def _masked(sec: InputSection, relocs: tuple[InputReloc, ...], machine: str) -> bytes:
    data = bytearray(sec.data)
    for rel in relocs:
        width = _width(machine, rel.type)
        data[rel.offset:rel.offset + width] = bytes(width)
    return bytes(data)


def _width(machine: str, number: int) -> int:
    info = lookup(machine, number)
    if info is not None:
        return info.width
    return _DTPOFF_WIDTH.get(type_name(machine, number), 4)


def _matches(out: bytes, at: int, masked: bytes, holes: list[tuple[int, int]]) -> bool:
    if at < 0 or at + len(masked) > len(out):
        return False
    window = bytearray(out[at:at + len(masked)])
    for start, width in holes:
        window[start:start + width] = bytes(width)
    return bytes(window) == masked


def _place_inputs(outputs: dict[str, bytes], linked: Linked,
                  debug: dict[int, dict[int, tuple[InputReloc, ...]]]
                  ) -> dict[tuple[int, int], list[int]]:
    """(id(object), section index) -> the offsets in its output section where its bytes
    (relocated fields masked) are found, for every non-allocated, unmerged input.  Several
    when inputs look alike: the fields then decide (check_debug_fields)."""
    placed: dict[tuple[int, int], list[int]] = {}
    cursor: dict[str, int] = {}  # where the next input of each output section would start
    for obj in linked.objects:
        for sec in obj.sections.values():
            if sec.alloc or sec.name not in outputs or _is_merged(sec) or not sec.data \
                    or (id(obj), sec.index) in linked.discarded:
                continue
            relocs = debug.get(id(obj), {}).get(sec.index, ())
            holes = [(r.offset, _width(obj.machine, r.type)) for r in relocs]
            # A compressed input's sh_addralign is its Elf_Chdr's; its data's is unknown.
            align = 1 if sec.flags & SHF_COMPRESSED else max(sec.align, 1)
            found = _search_all(outputs[sec.name], _masked(sec, relocs, obj.machine), holes,
                                align)
            if found:
                # Linkers concatenate in link order: the place after the previous input
                # first, so that the first place whose fields all hold is usually it.
                after = cursor.get(sec.name, 0)
                found.sort(key=lambda at: (at < after, at))
                placed[(id(obj), sec.index)] = found
                cursor[sec.name] = found[0] + len(sec.data)
    return placed


MAX_CANDIDATES = 4096


def _search_all(out: bytes, masked: bytes, holes: list[tuple[int, int]],
                align: int) -> list[int]:
    """Every aligned offset where `masked` matches, found through its first stretch of
    bytes no relocation touches (or by trying each aligned offset when there is none)."""
    covered = bytearray(len(masked))
    for start, width in holes:
        covered[start:start + width] = b"\1" * width
    anchor, anchor_at = b"", 0
    for i in range(len(masked)):  # the first hole-free stretch, at most 16 bytes
        if not covered[i]:
            j = i
            while j < len(masked) and not covered[j] and j - i < 16:
                j += 1
            anchor, anchor_at = masked[i:j], i
            break
    found: list[int] = []
    if anchor:
        pos = out.find(anchor)
        while pos >= 0 and len(found) < MAX_CANDIDATES:
            at = pos - anchor_at
            if at >= 0 and at % align == 0 and _matches(out, at, masked, holes):
                found.append(at)
            pos = out.find(anchor, pos + 1)
        return found
    for at in range(0, len(out) - len(masked) + 1, align):
        if _matches(out, at, masked, holes):
            found.append(at)
            if len(found) >= MAX_CANDIDATES:
                break
    return found


def _is_merged(sec: InputSection) -> bool:
    return bool(sec.flags & SHF_MERGE) and not sec.relocated


def _string_at(data: bytes, offset: int) -> bytes | None:
    end = data.find(b"\0", offset)
    return data[offset:end + 1] if 0 <= offset <= end else None


def check_debug_fields(output: str | ElfFile, linked: Linked,
                       debug: dict[int, dict[int, tuple[InputReloc, ...]]]) -> DebugReport:
    """Judge every relocation of every non-allocated input section in `debug`
    (id(object) -> section index -> its relocations)."""
    outputs = read_non_alloc(output)
    placed = _place_inputs(outputs, linked, debug)
    skipped: Counter[str] = Counter()
    image = linked.image
    ones = (1 << (8 * image.word)) - 1
    tombstones = {0, 1, ones, ones - 1}
    sections = [(obj, index, relocs) for obj in linked.objects
                for index, relocs in debug.get(id(obj), {}).items()]
    # Where each relocated input is: of its candidate places, those under which the most
    # fields hold.  A reference into an input without relocations may name any of its
    # places: they are byte for byte the same.
    chosen = dict(placed)
    for _round in range(2):  # the second round resolves references through the first's
        known = dict(chosen)
        claimed: set[tuple[str, int]] = set()
        for obj, index, relocs in sections:
            key = (id(obj), index)
            sec = obj.sections[index]
            if key not in placed or key in linked.discarded:
                continue
            scores: dict[int, int] = {}
            for base in placed[key]:
                scores[base] = sum(isinstance(_judge(linked, obj, sec, rel, outputs[sec.name],
                                                     base, outputs, known, tombstones),
                                              FieldMismatch) for rel in relocs)
            # Every candidate is scored: where fields hold under several places (they only
            # name discarded COMDAT copies, whose tombstone or kept copy fits anywhere), the
            # inputs are indistinguishable and a reference into them may name any of them;
            # stopping at the first would pin the object order, not the link order.
            best = min(scores.values())
            # Places under which every field holds equally are the same bytes computed the
            # same way: a reference may name any of them.  The first unclaimed one is judged.
            tied = sorted((b for b, n in scores.items() if n == best),
                          key=lambda b: (sec.name, b) in claimed)
            chosen[key] = tied
            claimed.add((sec.name, tied[0]))
    mismatches: list[FieldMismatch] = []
    confirmed: list[ConfirmedSite] = []
    for obj, index, relocs in sections:
        sec = obj.sections[index]
        if (id(obj), index) in linked.discarded:
            skipped["in discarded COMDAT sections"] += len(relocs)
            continue
        bases = chosen.get((id(obj), index))
        if not bases:
            skipped["in non-alloc sections not found in the output"] += len(relocs)
            continue
        for rel in relocs:
            verdict = _judge(linked, obj, sec, rel, outputs[sec.name], bases[0], outputs,
                             chosen, tombstones)
            if verdict is None:
                skipped["in non-alloc sections, not computable"] += 1
            elif isinstance(verdict, FieldMismatch):
                mismatches.append(verdict)
            else:
                confirmed.append(verdict)
    return DebugReport(tuple(mismatches), tuple(confirmed), dict(skipped))


def _judge(linked: Linked, obj: InputObject, sec: InputSection, rel: InputReloc, out: bytes,
           base: int, outputs: dict[str, bytes], placed: dict[tuple[int, int], list[int]],
           tombstones: set[int]) -> FieldMismatch | ConfirmedSite | None:
    name_of_type = type_name(obj.machine, rel.type)
    info = lookup(obj.machine, rel.type)
    width = _width(obj.machine, rel.type)
    dtpoff = name_of_type in _DTPOFF
    gotoff = info is not None and info.formula.name == "REL_GOT"
    if not dtpoff and not gotoff and (info is None or info.formula.name not in ("ABS",)):
        return None
    got_bases = linked.image.got_base_candidates() if gotoff else []
    if gotoff and not got_bases:
        return None
    field_at = base + rel.offset
    raw = out[field_at:field_at + width]
    actual = int.from_bytes(raw, "little")
    mask = (1 << (8 * width)) - 1
    if rel.symbol >= len(obj.symbols):
        return None
    sym = obj.symbols[rel.symbol]
    formula = "S + A - TLS" if dtpoff else "S + A - GOT" if gotoff else "S + A"
    allowed: list[int] = []
    detail = ""
    image = linked.image
    if isinstance(sym.shndx, int) and sym.shndx and sym.bind == "STB_LOCAL":
        target = obj.sections.get(sym.shndx)
        if target is None:
            return None
        if not target.alloc:
            if _is_merged(target):
                want = _string_at(target.data, sym.value + rel.addend)
                got = _string_at(outputs.get(target.name, b""), actual)
                if want is None:
                    return None
                if got == want:
                    return ConfirmedSite(obj.path, sec.name, rel.offset, name_of_type,
                                         sym.name, field_at, width, field_at,
                                         "string at S + A", "merged")
                return FieldMismatch("value", obj.path, sec.name, rel.offset, name_of_type,
                                     sym.name, formula="string at S + A", actual=raw,
                                     address=None, detail=(
                                         f"names {got!r} in {target.name}, the input "
                                         f"named {want!r}"))
            places = placed.get((id(obj), sym.shndx))
            if not places:
                return None
            allowed = [w + sym.value + rel.addend for w in places]
            formula = "S + A (offset in the output section)"
        elif (id(obj), sym.shndx) in linked.discarded:
            if actual in tombstones or (not dtpoff and any(
                    s.executable and s.contains(actual) for s in image.sections)):
                return ConfirmedSite(obj.path, sec.name, rel.offset, name_of_type, sym.name,
                                     field_at, width, field_at, formula, "tombstone")
            detail = "the target is a discarded COMDAT copy: want a tombstone or the kept copy"
        elif _is_merged(target):
            if not gotoff:
                return None
            return _merged_gotoff(obj, sec, rel, sym, target, raw, got_bases, field_at,
                                  width, image)
        else:
            candidates = linked.place(obj, sym.shndx)
            if not candidates:
                return None
            allowed = [c + sym.value + rel.addend for c in candidates]
            if any(sym.shndx in members for _, members in obj.comdat) and not dtpoff:
                # Which copy of a COMDAT group survives depends on the link order, which
                # the inputs given to the oracle need not follow: a tombstone may be right.
                allowed += sorted(tombstones)
    elif sym.shndx == "SHN_ABS":
        allowed = [sym.value + rel.addend]
    else:
        g = image.globals.get(sym.name)
        if g is None:  # mold turns an executable's globals into locals
            found = [s for s in image.locals.get(sym.name, []) if s.defined]
            g = found[0] if len(found) == 1 else None
        if g is None or not g.defined:
            if sym.bind == "STB_WEAK":
                allowed = [rel.addend, 0]
            else:
                return None
        else:
            allowed = [g.value + rel.addend]
            if image.tls is not None and dtpoff and g.type == "STT_TLS" and \
                    g.value < image.tls[0]:
                allowed = [g.value + image.tls[0] + rel.addend]  # st_value is an offset
    if dtpoff:
        if image.tls is None:
            return None
        allowed = [a - image.tls[0] for a in allowed]
    if gotoff:  # (a tombstone stands as it is)
        allowed = [a - g for a in allowed for g in got_bases if a not in tombstones] + [
            a for a in allowed if a in tombstones]
    if any((a & mask) == actual for a in allowed):
        return ConfirmedSite(obj.path, sec.name, rel.offset, name_of_type, sym.name,
                             field_at, width, field_at, formula, "")
    expected = (allowed[0] & mask).to_bytes(width, "little") if allowed else b""
    return FieldMismatch("value", obj.path, sec.name, rel.offset, name_of_type, sym.name,
                         formula=formula, expected=expected, actual=raw, address=None,
                         detail=detail or f"at {sec.name}+{field_at:#x} of the output")


def _merged_gotoff(obj: InputObject, sec: InputSection, rel: InputReloc, sym: InputSymbol,
                   target: InputSection, raw: bytes, got_bases: list[int], field_at: int,
                   width: int, image: OutputImage) -> ConfirmedSite | FieldMismatch | None:
    """A GOT-relative field naming a merged string (`.LCn@GOTOFF` into .rodata.str1.1): the
    output address it reaches, field + GOT, must hold the string the input named."""
    name_of_type = type_name(obj.machine, rel.type)
    want = _string_at(target.data, sym.value + rel.addend)
    if want is None:
        return None
    actual = int.from_bytes(raw, "little", signed=True)
    mask = (1 << (8 * image.word)) - 1
    for got in got_bases:
        if image.read((got + actual) & mask, len(want)) == want:
            return ConfirmedSite(obj.path, sec.name, rel.offset, name_of_type, sym.name,
                                 field_at, width, field_at, "string at S + A - GOT", "merged")
    return FieldMismatch("value", obj.path, sec.name, rel.offset, name_of_type, sym.name,
                         formula="string at S + A - GOT", actual=raw, address=None,
                         detail=f"GOT + field does not reach the input's string {want!r}")
