"""General- and local-dynamic TLS: the tls_index pairs of GOT words, and DTP offsets.

A general-dynamic reference (`leaq x@tlsgd(%rip), %rdi; call __tls_get_addr@PLT`;
i386 `leal x@tlsgd(%ebx), %eax; call ___tls_get_addr@PLT`) points at two GOT words that
the loader fills: the module id (a DTPMOD relocation) and the variable's offset in that
module's block (a DTPOFF relocation, or, for a variable the output itself binds, the
offset written at link time).  Local dynamic points at a pair for the output's own module
(DTPMOD against no symbol, offset 0) and then adds DTP offsets (S + A - the start of
PT_TLS) that the linker writes.

In a shared library these must stay as they are; a preemptible variable's pair must name
it in both relocations (another module may define it).  An executable's linker rewrites
the whole sequence to initial or local exec (x86-64 and i386 psABIs, "TLS relaxations"),
which the oracle accepts without decoding the rewritten bytes, as long as the bytes before
the sequence are untouched; a DTP offset there may have become a TP offset.
"""

from __future__ import annotations

from .expect import Expectation, formula
from .image import OutputImage
from .inputs import InputObject, InputReloc, InputSection
from .linked import Linked
from .targets import Target
from .types import Formula, RelocType, lookup

PAIR_FORMULAS = (Formula.TLS_GD_PC, Formula.TLS_GD_OFF, Formula.TLS_LD_PC, Formula.TLS_LD_OFF)


def _word(image: OutputImage, addr: int) -> int | None:
    raw = image.read(addr, image.word)
    return None if raw is None else int.from_bytes(raw, "little")


def _offset_word(image: OutputImage, at: int) -> tuple[str, int | None]:
    """What the loader leaves in the offset word at `at`: (symbol a DTPOFF names or "",
    the offset it adds, None when unknown)."""
    for r in image.dynamic_at(at):
        if r.kind == "DTPOFF":
            added = r.addend if r.addend is not None else _word(image, at)
            return r.symbol, added
    return "", _word(image, at)


def gd_pairs(image: OutputImage, target: Target, offsets: tuple[int, ...]) -> list[int]:
    """First words of the pairs that give `target`'s module and offset."""
    out = []
    for r in image.dynrelocs:
        if r.kind != "DTPMOD" or r.symbol not in (target.name, ""):
            continue
        named, added = _offset_word(image, r.offset + image.word)
        if target.preemptible:
            ok = r.symbol == target.name and named == target.name and added == 0
        elif named == target.name:
            ok = added == 0
        else:
            ok = named == "" and added in offsets
        if ok:
            out.append(r.offset)
    return out


def ld_pairs(image: OutputImage) -> list[int]:
    """First words of the pairs naming the output's own module with offset 0."""
    return [r.offset for r in image.dynrelocs if r.kind == "DTPMOD" and r.symbol == ""
            and _offset_word(image, r.offset + image.word) == ("", 0)]


_LEAD_IN = 2  # bytes before a GD/LD sequence that its rewrite must leave alone


def sequence_start(machine: str, data: bytes, offset: int, formula: Formula) -> int:
    """Where, in its input section, the GD/LD sequence whose field is at `offset` begins:
    x86-64 `66 48 8d 3d` (GD) or `48 8d 3d` (LD) before the field; i386 `8d 04 1d`
    (`leal x@tlsgd(,%ebx,1)`) or `8d 83` (`leal x@tlsgd(%ebx)`, and LDM's)."""
    if machine == "x86_64":
        return offset - (4 if formula is Formula.TLS_GD_PC else 3)
    if offset >= 3 and data[offset - 3] == 0x8D and data[offset - 2] == 0x04:
        return offset - 3
    return offset - 2


def lead_in_intact(image: OutputImage, obj: InputObject, sec: InputSection, rel: InputReloc,
                   p: int) -> bool:
    """The bytes just before a GD/LD sequence are the input's: a linker rewrites the
    sequence itself, never what precedes it (lld 14 writes its i386 -fno-plt GD->LE rewrite
    two bytes early, clobbering the instruction before).  Bytes that another relocation
    patches are not compared."""
    info = lookup(obj.machine, rel.type)
    if info is None:
        return True
    start = sequence_start(obj.machine, sec.data, rel.offset, info.formula)
    lo = max(start - _LEAD_IN, 0)
    if lo >= start or any(r.offset < start and r.offset + 4 > lo
                          for r in obj.relocs_by_section.get(sec.index, ())):
        return True
    return image.read(p - (rel.offset - lo), start - lo) == sec.data[lo:start]


def expectations(linked: Linked, info: RelocType, a: int, p: int, target: Target,
                 lead_in_intact: bool = True) -> list[Expectation]:
    image = linked.image
    w, rng, f = info.width, info.range, info.formula
    start = image.tls[0] if image.tls is not None else None
    tp = image.thread_pointer
    out: list[Expectation] = []

    def add(terms: list[tuple[str, str, int]], rule: str = "") -> None:
        value, text = formula(terms)
        out.append(Expectation(value, text, p, w, rng, rule=rule))

    if f is Formula.DTP_OFF:
        for r in image.dynamic_at(p):  # DTPOFF64 in data against a preemptible variable
            if r.kind == "DTPOFF" and r.symbol == target.name and r.addend in (a, None):
                out.append(Expectation(None if r.addend is not None else a,
                                       f"dynamic DTPOFF at {p:#x} for {target.name}", p, w,
                                       rng, rule="dynamic"))
        if target.preemptible:
            return out
        for s in target.s:
            if start is not None:
                add([("+", "S", s), ("+", "A", a), ("-", "TLS", start)])
            if not image.shared and tp is not None:  # local dynamic relaxed to local exec
                add([("+", "S", s), ("+", "A", a), ("-", "TP", tp)], "LD -> LE")
        return out
    if f in (Formula.TLS_GD_PC, Formula.TLS_GD_OFF):
        offsets = tuple(s - start for s in target.s) if start is not None else ()
        pairs = gd_pairs(image, target, offsets)
    else:
        pairs = ld_pairs(image)
    for g in pairs:
        if f in (Formula.TLS_GD_PC, Formula.TLS_LD_PC):
            add([("+", "G", g), ("+", "A", a), ("-", "P", p)])
        elif linked.got is not None:
            add([("+", "G", g), ("+", "A", a), ("-", "GOT", linked.got)])
    if not image.shared and lead_in_intact:
        out.append(Expectation(None, "a GD/LD sequence an executable's linker rewrites to "
                               "initial or local exec", p, w, rng, rule="relaxed"))
    return out
