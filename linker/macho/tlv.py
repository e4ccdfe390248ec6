"""Thread-local variables in a Mach-O image: the MH_HAS_TLV_DESCRIPTORS flag, and the
__thread_vars descriptors' third word.

A descriptor is three words {thunk, key, offset} (24 bytes on x86-64, 12 on i386).  The
compiler writes the offset as an absolute pointer to the variable's initial value
(`_v$tlv$init`, in __thread_data or __thread_bss); the linker turns it into the value's
offset in the thread-local template (__thread_data, then __thread_bss right after it: one
range, sections.ZEROFILL_ORDER) and does not rebase it, as ld64 writes it.  The thunk is
bound to libSystem's `__tlv_bootstrap` like any import; dyld sets the key and repoints the
thunk at `tlv_get_addr`, and only for an image flagged MH_HAS_TLV_DESCRIPTORS.  The code's
loads of a descriptor's address are relaxed to lea as ld64 does (`relax_descriptor_loads`).
The offset is written by the one relocation pass: `offset_records` retypes the third
word's relocation as S + A - TLS before layout, and the template's start is the pass's TLS
(`check_descriptors` validates the records against the layout first).
"""

from __future__ import annotations

import numpy as np

from ..errors import LinkError
from ..kinds import Howto, Overflow, RelocKind
from ..layout import OutputSection
from ..model import InputSection, ObjectFile
from ..resolve import SymbolTable
from . import sections as policy
from .rebases import RebaseSite

MH_HAS_TLV_DESCRIPTORS = 0x800000
DESCRIPTORS = "__DATA,__thread_vars"


def header_flag(outs: list[OutputSection]) -> int:
    """MH_HAS_TLV_DESCRIPTORS when the image has descriptors, else 0."""
    return MH_HAS_TLV_DESCRIPTORS if any(o.name == DESCRIPTORS and o.size for o in outs) else 0


TLV_MIN_OS = 0x000A0700  # dyld runs thread-local descriptors from macOS 10.7


def refuse_unsupported(outs: list[OutputSection], classic: bool, min_os: int) -> None:
    """Descriptors need a dyld that sets them up (macOS 10.7; ld64 refuses an older
    deployment target the same way) and are not part of the classic format."""
    descriptors = next((o for o in outs if o.name == DESCRIPTORS and o.size), None)
    if descriptors is None:
        return
    first = descriptors.inputs[0].file.path if descriptors.inputs else None
    if classic:
        raise LinkError("thread-local variables are not written in --macho-classic output "
                        "(dyld sets up their descriptors from macOS 10.7)", file=first,
                        section=DESCRIPTORS)
    if min_os < TLV_MIN_OS:
        raise LinkError(f"thread-local variables need macOS 10.7 or later (dyld's TLV "
                        f"support); the target is {min_os >> 16}.{min_os >> 8 & 0xFF}",
                        file=first, section=DESCRIPTORS)


def align_template(outs: list[OutputSection]) -> None:
    """Start the template at the largest alignment of its sections.  dyld copies it into a
    block from malloc (16-byte aligned) and each variable lands at block + its offset in
    the template, so a variable keeps its alignment only if its offset is a multiple of it
    (ld64.lld-14 aligns __thread_data so too; found by fuzz/macho/tlv.py's alignment probe,
    a 16-aligned __thread_bss variable 8 bytes past a 4-aligned __thread_data)."""
    template = [o for o in outs if o.name.partition(",")[2] in policy.TLV_TEMPLATE and o.size]
    if template:
        template[0].align = max(o.align for o in template)


def template_start(outs: list[OutputSection]) -> int | None:
    """Where the thread-local template begins (None: the image has none)."""
    template = [o for o in outs if o.name.partition(",")[2] in policy.TLV_TEMPLATE and o.size]
    return min((o.addr for o in template), default=None)


# A descriptor's third word, S + A - (the template's start): the relocation the compiler
# wrote as an absolute pointer to the variable's initial value, retyped by
# `offset_records` so that the one relocation pass writes the offset itself.
TEMPLATE_OFFSET = {width: Howto(f"TLV descriptor offset ({width} bytes)", RelocKind.TLS_DTPOFF,
                                width, Overflow.NONE) for width in (4, 8)}


def offset_records(symtab: SymbolTable, word: int = 8) -> list[RebaseSite]:
    """Retype each descriptor's third-word relocation (an absolute word) as the variable's
    offset in the template (S + A - TLS, the template's start as TLS), before the rebase
    records are made: the word is then neither rebased nor patched after the pass."""
    sites = []
    size = 3 * word
    for obj, gids in zip(symtab.objects, symtab.gids):
        retyped = len(obj.howtos)
        added = False
        for sec in obj.sections:
            if sec is None or sec.file is not obj or not len(sec.relocs) \
                    or policy.output_name(sec) != DESCRIPTORS:
                continue
            rows = sec.relocs.rows
            for r, (at, howto) in enumerate(zip(rows["offset"].tolist(),
                                                rows["howto"].tolist())):
                h = obj.howtos[howto]
                if at % size != 2 * word or h.kind != RelocKind.ABS or h.width != word:
                    continue
                symbol = int(rows["symbol"][r])
                rows["howto"][r] = retyped
                added = True
                sites.append(RebaseSite(sec, at, obj, symbol, int(gids[symbol]),
                                        int(rows["addend"][r])))
        if added:
            obj.howtos = (*obj.howtos, TEMPLATE_OFFSET[word])
    return sites


def check_descriptors(outs: list[OutputSection], sites: list[RebaseSite],
                      targets: dict[int, int], word: int = 8) -> int | None:
    """The template's start (None: no descriptors), once every descriptor is known to be
    whole, on a descriptor boundary, and to point (`targets`: site address -> S + A, from
    the records) into __thread_data or __thread_bss."""
    descriptors = [o for o in outs if o.name == DESCRIPTORS and o.size]
    if not descriptors:
        return None
    size = 3 * word
    # Each input's descriptors are checked and named where they come from: a descriptor
    # section that is not whole descriptors, or placed off a descriptor boundary (an
    # alignment past a word), would have dyld read padding as one.
    for out in descriptors:
        for sec, offset in zip(out.inputs, out.offsets, strict=True):
            if sec.size % size or offset % size:
                raise LinkError(f"{sec.size:#x} bytes placed at {offset:#x} in the output's "
                                f"{DESCRIPTORS}: not whole {size}-byte descriptors on a "
                                f"descriptor boundary (size or alignment)", file=sec.file.path,
                                section=sec.name)
        if out.size % size:
            raise LinkError(f"__thread_vars is {out.size:#x} bytes, not a whole number of "
                            f"{size}-byte descriptors", section=out.name)
    template = [o for o in outs if o.name.partition(",")[2] in policy.TLV_TEMPLATE and o.size]
    start = template_start(outs)
    if start is None:
        first = descriptors[0].inputs[0] if descriptors[0].inputs else None
        raise LinkError("__thread_vars descriptors without __thread_data or __thread_bss",
                        file=first.file.path if first else None,
                        section=first.name if first else None)
    end = max(o.addr + o.size for o in template)
    filled = {(id(s.section), s.offset) for s in sites}
    for out in descriptors:
        for sec, offset in zip(out.inputs, out.offsets, strict=True):
            for k in range(sec.size // size):
                third = size * k + 2 * word
                value = targets.get(out.addr + offset + third)
                if (id(sec), third) not in filled or value is None:
                    data = sec.data or bytes(sec.size)
                    value = int.from_bytes(data[third:third + word], "little")
                if not start <= value <= end:
                    raise LinkError(f"thread-local descriptor: its initial value {value:#x} "
                                    f"is not in __thread_data or __thread_bss",
                                    file=sec.file.path, section=sec.name, offset=size * k)
                if (id(sec), third) not in filled:
                    raise LinkError("thread-local descriptor: no relocation names its "
                                    "initial value", file=sec.file.path, section=sec.name,
                                    offset=size * k)
    return start


# ld64's relaxation of a descriptor load whose descriptor is in the image: the instruction
# `movq _v@TLVP(%rip), %rdi` (x86-64) or `movl _v@TLVP-L$pb(%ebx), %eax` (i386) loads the
# descriptor's address from a pointer slot; with the descriptor defined here, the opcode
# becomes lea (0x8b -> 0x8d, the ModRM byte unchanged) and the field the descriptor's own
# pc-relative offset, so no slot is made.  The addend means the same in both forms.
MOV, LEA = 0x8B, 0x8D
TLV_LOADS = ("X86_64_RELOC_TLV", "GENERIC_RELOC_TLV")
RELAXED = Howto("TLV descriptor load relaxed to lea", RelocKind.PC, 4, Overflow.SIGNED)
# i386 -mdynamic-no-pic's absolute form, `movl _v@TLVP, %reg`: eax's own encoding (0xa1,
# moffs32) becomes `movl $imm32, %eax` (0xb8), any other register's (0x8b, ModRM with no
# base: mod 00, r/m 101) `leal disp32, %reg`; both keep the length, the field becomes the
# descriptor's address.  An image that dyld slides cannot hold it (the text would need
# rebasing), so only executables take it, as -mdynamic-no-pic is for them.
TLV_ABSOLUTE_LOAD = "GENERIC_RELOC_TLV(abs)"
MOV_EAX_MOFFS, MOV_EAX_IMM = 0xA1, 0xB8
DISP32_ONLY = 0x05  # ModRM's mod 00, r/m 101 bits: an absolute address, no base register
RELAXED_ABSOLUTE = Howto("TLV descriptor load (absolute) relaxed to its address",
                         RelocKind.ABS, 4, Overflow.NONE)


DESCRIPTOR_SECTION = "__thread_vars"


def _defined_in(symtab: SymbolTable, obj: ObjectFile, gid: int, symbol: int
                ) -> InputSection | None:
    """The input section defining the symbol (a global's winning definition)."""
    if gid >= 0:
        return symtab.symbols[gid].section
    index = int(obj.symbols.section[symbol])
    return obj.sections[index] if 0 <= index < len(obj.sections) else None


def _relaxed_absolute(data: bytearray, at: int) -> bool:
    """Rewrite an absolute descriptor load at field offset `at` as its address (True), or
    leave an instruction of another shape alone (False)."""
    if at >= 1 and data[at - 1] == MOV_EAX_MOFFS:
        data[at - 1] = MOV_EAX_IMM
        return True
    if at >= 2 and data[at - 2] == MOV and data[at - 1] & 0xC7 == DISP32_ONLY:
        data[at - 2] = LEA
        return True
    return False


def relax_descriptor_loads(symtab: SymbolTable, library: bool = False) -> bool:
    """Rewrite every TLV load of a descriptor defined in the image as lea of it (before
    scan, which then makes no pointer slot for it).  A load whose opcode is not mov, or of
    a descriptor from elsewhere, keeps its slot.  `library` (a dylib or bundle, which dyld
    slides): an absolute (-mdynamic-no-pic) load is refused.  Whether the code holds an
    absolute load (then the executable must not be slid: no MH_PIE)."""
    holds_absolute = False
    for obj, gids in zip(symtab.objects, symtab.gids):
        loads = [n for n, h in enumerate(obj.howtos) if h.name in TLV_LOADS]
        absolute = [n for n, h in enumerate(obj.howtos) if h.name == TLV_ABSOLUTE_LOAD]
        loads += absolute
        if not loads:
            continue
        relaxed = len(obj.howtos)
        added = False
        for sec in obj.sections:
            if sec is None or sec.file is not obj or sec.data is None or not len(sec.relocs):
                continue
            rows = sec.relocs.rows
            picked = np.nonzero(np.isin(rows["howto"], loads))[0].tolist()
            if not picked:
                continue
            data = bytearray(sec.data)
            for r in picked:
                at, symbol = int(rows["offset"][r]), int(rows["symbol"][r])
                gid = int(gids[symbol])
                here = gid < 0 or (symtab.symbols[gid].defined
                                   and not symtab.symbols[gid].imported)
                target = _defined_in(symtab, obj, gid, symbol) if here else None
                if here and (target is None or not target.name.endswith(DESCRIPTOR_SECTION)):
                    # ld64 refuses it too ("illegal thread local variable reference to
                    # regular symbol"): the code would call through whatever is there
                    raise LinkError("a thread-local variable reference (TLV) to a symbol "
                                    "that is not a __thread_vars descriptor",
                                    file=obj.path, section=sec.name, offset=at,
                                    symbol=obj.symbols.names[symbol] or None)
                if int(rows["howto"][r]) in absolute:
                    holds_absolute = True
                    if library:
                        raise LinkError("an absolute thread-local variable access "
                                        "(-mdynamic-no-pic) in a dylib or bundle, whose text "
                                        "dyld cannot slide: compile it without "
                                        "-mdynamic-no-pic", file=obj.path, section=sec.name,
                                        offset=at, symbol=obj.symbols.names[symbol] or None)
                    if here and _relaxed_absolute(data, at):
                        rows["howto"][r] = relaxed + 1
                        added = True
                    continue
                if not here or at < 2 or data[at - 2] != MOV:
                    continue
                data[at - 2] = LEA
                rows["howto"][r] = relaxed
                added = True
            sec.data = bytes(data)
        if added:
            obj.howtos = (*obj.howtos, RELAXED, RELAXED_ABSOLUTE)
    return holds_absolute
