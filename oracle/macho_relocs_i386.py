"""The relocation-field oracle for Mach-O i386 inputs (GENERIC_RELOC_*): what each field of
an i386 MH_OBJECT must hold in the linked executable, from the format alone.

With P the field's output address, W its width, F the bytes the assembler left there (read
signed for differences and pc-relative forms), p the field's address in the object, and
moved(a) the output address of object address a (its section moved to where it landed; an
address in the object's own non-lazy pointer section moved to the output's slot for the
same symbol):

  VANILLA extern             S + F; pc-relative: L + (F + p + W) - (P + W), where L is S or
                             the stub of an import (the assembler stores the addend minus the
                             end of the field in object space: `calll _printf` at p holds
                             -(p + 4)); an import in an absolute field is a bind of S + F
  VANILLA non-extern         moved(F); pc-relative: moved(F + p + W) - (P + W)
  VANILLA scattered          r_value names the target: moved(r_value) + (F - r_value);
                             pc-relative with F + p + W in place of F
  SECTDIFF, LOCAL_SECTDIFF   with A the entry's r_value and B its PAIR's:
                             moved(A) - moved(B) + (F - (A - B)); the minuend of a PIC load
                             through `L_x$non_lazy_ptr - L0$pb` is the output's pointer slot;
                             a wrong difference is reported with the address it reaches and
                             whether that stays inside the minuend's output section
  TLV                        extern, pc-relative: the descriptor's address loaded from a
                             pointer slot G, G + F - (P + W) (F holds p + W - pic base), or
                             relaxed to `leal`, S + F - (P + W) with opcode 0x8d;
                             absolute (-mdynamic-no-pic's `movl _v@TLVP, %reg`): G + F
                             while the load is still a load (0xa1 before the field, or
                             0x8b and a disp32-only ModRM), or relaxed, S + F with 0xb8
                             (`movl $S, %eax`) or 0x8d (`leal S, %reg`) in its place
  a descriptor's third word  (VANILLA, offset 8 in S_THREAD_LOCAL_VARIABLES) the variable's
                             offset in the template: moved(F) - the template's start
  PB_LA_PTR                  not checked (skipped, as the linker refuses it)

Facts established with llvm-mc-14 -triple i386-apple-macosx10.6 and clang-14 -target
i386-apple-macosx10.6 (tests/oracle/macho/test_i386_relocs.py); no linker code is used.
"""

from __future__ import annotations

from oracle.macho_relocs_inputs import GENERIC_TLV, LOCAL_SECTDIFF, SECTDIFF, VANILLA, MachOReloc
from oracle.macho_relocs_site import (
    MASKS,
    Site,
    Unresolved,
    tlv_descriptor_loads,
    tlv_offset_word,
    tlv_template_start,
)
from oracle.relocs.mismatch import ConfirmedSite, FieldMismatch

Allowed = list[tuple[int, str]]


def _field(site: Site, signed: bool) -> int:
    return site.obj.inplace(site.r, signed=signed)


def _expected(site: Site) -> Allowed:
    """(value, formula) pairs the field may hold."""
    r = site.r
    width = r.width
    end = site.p + width
    if r.type in (SECTDIFF, LOCAL_SECTDIFF):
        a, b = r.value, r.pair_value
        if a is None or b is None:  # the reader pairs every SECTDIFF
            raise Unresolved("unresolved", f"{r.type_name} without its pair")
        offset = _field(site, True) - (a - b)
        return [(ma - mb + offset, "moved(A) - moved(B) + (F - (A - B))")
                for ma in site.moved_address(a) for mb in site.moved_address(b)]
    if r.type == GENERIC_TLV and r.target.extern and not r.pcrel:
        return _absolute_tlv_load(site)
    if r.type == GENERIC_TLV and r.target.extern and r.pcrel:
        lea = site.out.read(site.p - 2, 1) == b"\x8d"  # relaxed: only with lea's opcode
        allowed = [(v, f) for v, f, opcode in tlv_descriptor_loads(site, _field(site, True), end)
                   if opcode is None or lea]
        if not allowed:
            raise Unresolved("unresolved", f"{site.name(r.target)} has no pointer slot, and "
                                           "the instruction is not leal (0x8d)")
        return allowed
    if r.type != VANILLA:
        raise Unresolved("unsupported", f"type {r.type_name} is not checked")
    if not r.scattered and not r.pcrel and tlv_offset_word(site):
        start = tlv_template_start(site)
        if r.target.extern:
            s = site.symbol_address(r.target)
            if s is None:
                raise Unresolved("unresolved", "a descriptor's offset names an import")
            return [(s + _field(site, True) - start, "S + F - TLV template start")]
        return [(m - start, "moved(F) - TLV template start")
                for m in site.moved(r.target, _field(site, False))]
    if r.scattered:
        if r.value is None:
            raise Unresolved("unresolved", f"{r.type_name} without r_value")
        target = _field(site, True) + site.obj_p + width if r.pcrel else _field(site, False)
        offset = target - r.value
        if r.pcrel:
            return [(m + offset - end, "moved(r_value) + off - (P + W)")
                    for m in site.moved_address(r.value)]
        return [(m + offset, "moved(r_value) + off") for m in site.moved_address(r.value)]
    if not r.target.extern:
        if r.pcrel:
            obj_target = _field(site, True) + site.obj_p + width
            return [(m - end, "moved(F + p + W) - (P + W)")
                    for m in site.moved(r.target, obj_target)]
        return [(m, "moved(F)") for m in site.moved(r.target, _field(site, False))]
    s = site.symbol_address(r.target)
    name = site.name(r.target)
    if not r.pcrel:
        if s is None:
            return []  # an import: judged through its bind
        return [(s + _field(site, True), "S + F")]
    addend = _field(site, True) + site.obj_p + width
    # a definition may still be reached through a stub (a weak definition dyld may override)
    targets = [t for t in (s, site.out.stubs.get(name)) if t is not None]
    if not targets:
        raise Unresolved("unresolved", f"import {name} has no stub")
    return [(t + addend - end, "L + (F + p + W) - (P + W)") for t in targets]


# The absolute TLV load's instruction before its field: a load from the slot (eax's
# moffs32 form, or mov with a ModRM of mod 00 and r/m 101: disp32, no base) or, relaxed,
# the descriptor's address itself (mov imm32 to eax, or lea of disp32)
MOV_EAX_MOFFS, MOV_EAX_IMM, MOV, LEA = 0xA1, 0xB8, 0x8B, 0x8D


def _absolute_tlv_load(site: Site) -> Allowed:
    before = site.out.read(site.p - 2, 2) or b"\0\0"
    disp32 = before[1] & 0xC7 == 0x05
    loads = before[1] == MOV_EAX_MOFFS or (before[0] == MOV and disp32)
    relaxed = before[1] == MOV_EAX_IMM or (before[0] == LEA and disp32)
    values = tlv_descriptor_loads(site, _field(site, True), 0)
    allowed = [(v, f.replace(" - end", "")) for v, f, lea in values
               if (lea is None and loads) or (lea is not None and relaxed)]
    if not allowed:
        raise Unresolved("unresolved", f"{site.name(site.r.target)}: the instruction before "
                                       f"the field ({before.hex()}) neither loads the "
                                       "descriptor's slot (0xa1, 0x8b) nor takes its address "
                                       "(0xb8, 0x8d), or no slot holds it")
    return allowed


def judge_generic(site: Site) -> FieldMismatch | ConfirmedSite | None:
    """The verdict on one i386 field."""
    r, out = site.r, site.out
    name = site.name(r.target) if not r.scattered else f"{r.value:#x}"
    actual = out.read(site.p, r.width) or b""
    if r.type == VANILLA and not r.scattered and r.target.extern and not r.pcrel \
            and site.symbol_address(r.target) is None:
        return _judge_import(site, name)
    allowed = _expected(site)
    mask = MASKS[r.width]
    for value, formula in allowed:
        if actual == (value & mask).to_bytes(r.width, "little"):
            return ConfirmedSite(site.obj.path, site.section_name, r.offset, r.type_name, name,
                                 site.p, r.width, site.p, formula, "")
    value, formula = allowed[0]
    detail = f"{len(allowed)} acceptable value(s)"
    if r.type in (SECTDIFF, LOCAL_SECTDIFF) and actual:
        detail += "; " + _difference_reach(site, int.from_bytes(actual, "little", signed=True))
    return FieldMismatch("value", site.obj.path, site.section_name, r.offset, r.type_name,
                         name, formula=formula,
                         expected=(value & mask).to_bytes(r.width, "little"), actual=actual,
                         address=site.p, detail=detail)


def _difference_reach(site: Site, held: int) -> str:
    """Where a wrong difference leads: the minuend the field implies (held + moved(B) -
    offset), and whether it stays inside the output section of the real minuend, which is
    what PIC code `leal L_x-L0$pb(%ebx)` relies on."""
    r, out = site.r, site.out
    if r.value is None or r.pair_value is None:
        return "no pair to say where it leads"
    offset = site.obj.inplace(r) - (r.value - r.pair_value)
    base = site.moved_address(r.pair_value)[0]
    reached = base + held - offset
    want = site.moved_address(r.value)[0]
    here, there = out.section_name_at(reached), out.section_name_at(want)
    inside = "inside" if here == there else "outside"
    return (f"the field reaches {reached:#x} ({here or 'no section'}), {inside} the minuend's "
            f"section {there} (minuend {want:#x})")


def _judge_import(site: Site, name: str) -> FieldMismatch | ConfirmedSite:
    """An absolute field naming an import: dyld writes it, from a bind (modern) or an
    external relocation (classic), of S + F."""
    r, out = site.r, site.out
    addend = _field(site, True)
    bound = out.binds.get(site.p)
    if bound == (name, addend):
        return ConfirmedSite(site.obj.path, site.section_name, r.offset, r.type_name, name,
                             site.p, r.width, site.p, "bind S + F", "dynamic")
    if not out.img.dyld_info:
        # classic: an LC_DYSYMTAB external relocation of the symbol, F in the word
        named = out.extrel.get(site.p)
        held = out.read(site.p, r.width)
        if named == name and held == (addend & MASKS[r.width]).to_bytes(r.width, "little"):
            return ConfirmedSite(site.obj.path, site.section_name, r.offset, r.type_name, name,
                                 site.p, r.width, site.p, "external relocation S + F",
                                 "dynamic")
        return FieldMismatch("unresolved", site.obj.path, site.section_name, r.offset,
                             r.type_name, name, address=site.p,
                             detail=f"no external relocation of {name} with {addend} in the "
                                    f"word at {site.p:#x} (found {named})")
    return FieldMismatch("unresolved", site.obj.path, site.section_name, r.offset,
                         r.type_name, name, address=site.p,
                         detail=f"no bind of {name}+{addend} at {site.p:#x} (found {bound})")


__all__ = ["MachOReloc", "judge_generic"]
