"""Every value a field may legitimately hold, as Expectations with their formulas.

One branch per formula kind (types.Formula); on top of the plain formula, the legal
variants real linkers produce: an import reached through its PLT entry, dynamic
relocations that fill the field at run time, IFUNC pointers filled by IRELATIVE, any copy
of a merged string, and the instruction relaxations of relax.py.
"""

from __future__ import annotations

from . import tls_dynamic
from .expect import Expectation, formula
from .image import OutputImage
from .inputs import InputObject, InputReloc, InputSection
from .linked import Linked
from .relax import relaxed
from .targets import Target
from .tls import tls_relaxed, tls_slots
from .types import Formula, Range, RelocType


def expectations(linked: Linked, obj: InputObject, sec: InputSection, rel: InputReloc,
                  info: RelocType, p: int, target: Target) -> list[Expectation]:
    image = linked.image
    a, w, rng = rel.addend, info.width, info.range
    got = linked.got
    tp = image.thread_pointer
    out: list[Expectation] = []

    def add(terms: list[tuple[str, str, int]], opcodes: tuple[tuple[int, bytes], ...] = ()) -> None:
        value, text = formula(terms)
        out.append(Expectation(value, text, p, w, rng, opcodes))

    original: tuple[tuple[int, bytes], ...] = ()
    if info.relaxable:
        # the unrelaxed form keeps the instruction's bytes as the compiler wrote them
        lead = 3 if info.name.endswith(("REX_GOTPCRELX", "GOTTPOFF")) else 2
        if obj.machine == "i386" and sec.data[rel.offset - 1:rel.offset] == b"\xa1":
            lead = 1  # moffs `movl foo@indntpoff, %eax`: the byte before is another's
        lo = max(rel.offset - lead, 0)
        original = ((p - (rel.offset - lo), sec.data[lo:rel.offset]),)
    f = info.formula
    # In a PIE (loaded anywhere) an address in a word holds only with a dynamic relocation
    # at the field; a symbol's own value (SHN_ABS) or an undefined weak's 0 needs none.
    sym = obj.symbols[rel.symbol]
    relocated_only = image.relocatable and f is Formula.ABS and w == image.word \
        and sym.shndx != "SHN_ABS"
    if target.name in TLS_GET_ADDR and not image.shared and f in _CALLS:
        # the call ending a GD/LD sequence, which an executable's linker rewrites with the
        # sequence (to initial or local exec; lld and mold leave no __tls_get_addr at all)
        out.append(Expectation(None, f"the {target.name} call of a rewritten GD/LD sequence",
                               p, w, rng, rule="relaxed"))
    if target.preemptible and f in (Formula.ABS, Formula.PC):
        # a field the loader must fill from the symbol's run-time definition: judged from
        # the dynamic relocation alone (the bytes under it are the loader's to write)
        return _symbolic_only(image, target, a, p, w, rng, f)
    if f is Formula.ABS:
        for s in target.s:
            if not (target.imported and s == 0) and not (relocated_only and s):
                add([("+", "S", s), ("+", "A", a)])
        if target.imported and not relocated_only:  # GNU ld (i386) stores an import's PLT
            for entry in target.l:  # entry without making it canonical; the pointer still
                add([("+", "L", entry), ("+", "A", a)])  # reaches the function
        for slot in image.dynamic_at(p):
            if slot.kind == "RELATIVE":
                out.extend(_relative(linked, slot.addend, a, p, w, rng, target))
        out.extend(_symbolic_only(image, target, a, p, w, rng, f))
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
    elif f is Formula.GOT_ABS:
        # the slot's absolute address: in a PIE only with a (text) RELATIVE relocation on
        # the field; GNU ld, gold and lld refuse to link it there at all
        if not image.relocatable or any(r.kind == "RELATIVE" for r in image.dynamic_at(p)):
            for slot_addr in target.g:
                add([("+", "G", slot_addr), ("+", "A", a)], original)
    elif f is Formula.GOT_OFF and got is not None:
        for slot_addr in target.g:
            add([("+", "G", slot_addr), ("+", "A", a), ("-", "GOT", got)], original)
    elif f is Formula.PLT_OFF and got is not None:
        for entry in target.l:
            add([("+", "L", entry), ("+", "A", a), ("-", "GOT", got)])
    elif f is Formula.REL_GOT and got is not None:
        for s in target.s:
            add([("+", "S", s), ("+", "A", a), ("-", "GOT", got)])
    elif f is Formula.GOT_BASE_PC and got is not None:
        add([("+", "GOT", got), ("+", "A", a), ("-", "P", p)])
    elif f is Formula.SIZE:
        add([("+", "Z", target.z), ("+", "A", a)])
    elif f in _DYNAMIC_TLS:
        intact = f not in tls_dynamic.PAIR_FORMULAS or tls_dynamic.lead_in_intact(
            linked.image, obj, sec, rel, p)
        return tls_dynamic.expectations(linked, info, a, p, target, intact)
    elif f in _TLS and tp is not None:
        out.extend(_tls(linked, obj, sec, rel, info, p, target, tp, original))
        return out
    elif f in _TLS_GOT and target.imported:
        # initial exec of another module's variable from an output with no TLS of its own:
        # only a slot a dynamic TPOFF naming the variable fills will do
        out.extend(_tls_import(linked, info, p, target, a, original))
        return out
    if target.piece is not None and f in (Formula.ABS, Formula.PC, Formula.REL_GOT) \
            and not relocated_only:
        out.extend(_any_copy(linked, info, rel, p, target))
    if info.relaxable and not target.imported and not target.preemptible:
        before = sec.data[max(rel.offset - 3, 0):rel.offset].rjust(3, b"\0")
        rex = info.name.endswith("REX_GOTPCRELX")
        for s in target.s:
            out.extend(relaxed(obj.machine, before, p, s, a, got, rex))
    return out


def _symbolic_only(image: OutputImage, target: Target, a: int, p: int, w: int, rng: Range,
                   f: Formula) -> list[Expectation]:
    """The field is right when a symbolic dynamic relocation at it names the symbol with
    the input's addend (RELA: in the relocation, the field's bytes are the loader's to
    write; REL: in the field)."""
    kinds = ("64", "32") if f is Formula.ABS else ("PC",)
    out = []
    for slot in image.dynamic_at(p):
        if slot.symbol != target.name or slot.kind not in kinds:
            continue
        if slot.addend is not None and slot.addend != a:
            continue  # names the symbol, but ld.so would add another addend
        value = None if slot.addend is not None else a
        if f is Formula.PC and slot.addend is None:
            value = a  # R_386_PC32 (REL): ld.so computes S + field - P
        out.append(Expectation(value, f"dynamic {'R_*_' + slot.kind} at {p:#x} for "
                               f"{target.name} (A = {a:#x})", p, w, rng, rule="dynamic"))
    return out


TLS_GET_ADDR = ("__tls_get_addr", "___tls_get_addr")
_CALLS = (Formula.PLT_PC, Formula.PC, Formula.GOT_PC, Formula.GOT_OFF, Formula.GOT_ABS)
_DYNAMIC_TLS = (*tls_dynamic.PAIR_FORMULAS, Formula.DTP_OFF)
_TLS = (Formula.TP_OFF, Formula.TP_NEG, Formula.TLS_GOT_PC, Formula.TLS_GOT_ABS,
        Formula.TLS_GOT_OFF)


_TLS_GOT = (Formula.TLS_GOT_PC, Formula.TLS_GOT_ABS, Formula.TLS_GOT_OFF)


def _tls_import(linked: Linked, info: RelocType, p: int, target: Target, a: int,
                original: tuple[tuple[int, bytes], ...]) -> list[Expectation]:
    out = []
    for g in tls_slots(linked.image, target.name, ()):
        terms = {Formula.TLS_GOT_PC: [("+", "G", g), ("+", "A", a), ("-", "P", p)],
                 Formula.TLS_GOT_ABS: [("+", "G", g), ("+", "A", a)],
                 Formula.TLS_GOT_OFF: [("+", "G", g), ("+", "A", a),
                                       ("-", "GOT", linked.got or 0)]}[info.formula]
        value, text = formula(terms)
        out.append(Expectation(value, text, p, info.width, info.range, original))
    return out


def _tls(linked: Linked, obj: InputObject, sec: InputSection, rel: InputReloc,
         info: RelocType, p: int, target: Target, tp: int,
         original: tuple[tuple[int, bytes], ...]) -> list[Expectation]:
    a, f, out = rel.addend, info.formula, []
    candidates = target.s
    if 0 in candidates and linked.image.tls is not None:
        # an undefined weak TLS symbol: lld (and gold on x86-64) use TP offset 0, gold on
        # i386 the start of the TLS block
        candidates += (tp - a - 4 if obj.machine == "x86_64" and f is Formula.TLS_GOT_PC
                       else tp - a, linked.image.tls[0])
    for s in candidates:
        if f is Formula.TP_OFF:
            terms = [("+", "S", s), ("+", "A", a), ("-", "TP", tp)]
        elif f is Formula.TP_NEG:
            terms = [("+", "TP", tp), ("-", "S", s), ("-", "A", a)]
        else:
            continue
        value, text = formula(terms)
        out.append(Expectation(value, text, p, info.width, info.range))
    if f in (Formula.TP_OFF, Formula.TP_NEG):
        return out
    offsets = tuple(s - tp for s in candidates)
    for g in tls_slots(linked.image, target.name, offsets):
        terms = {Formula.TLS_GOT_PC: [("+", "G", g), ("+", "A", a), ("-", "P", p)],
                 Formula.TLS_GOT_ABS: [("+", "G", g), ("+", "A", a)],
                 Formula.TLS_GOT_OFF: [("+", "G", g), ("+", "A", a),
                                       ("-", "GOT", linked.got or 0)]}[f]
        value, text = formula(terms)
        out.append(Expectation(value, text, p, info.width, info.range, original))
    before = sec.data[max(rel.offset - 3, 0):rel.offset].rjust(3, b"\0")
    for s in candidates:
        out.extend(tls_relaxed(obj.machine, before, p, s, a, tp))
    return out


def _relative(linked: Linked, addend: int | None, a: int, p: int, w: int, rng: Range,
              target: Target) -> list[Expectation]:
    """A RELATIVE relocation at the field: ld.so writes load base + the link-time S + A,
    which is the RELA addend (the field may hold anything: lld leaves 0) or, for REL, the
    field's own content."""
    if addend is None:
        word = linked.image.read(p, w)
        if word is None:
            return []
        value = int.from_bytes(word, "little")
        if not _relative_to(linked, value - a, target):
            return []
        return [Expectation(value, f"RELATIVE at {p:#x}: field = S + A = {value:#x}", p, w,
                            rng, rule="dynamic")]
    if not _relative_to(linked, addend - a, target):
        return []
    return [Expectation(None, f"RELATIVE at {p:#x}, addend {addend:#x} = S + A", p, w, rng,
                        rule="dynamic")]


def _relative_to(linked: Linked, s: int, target: Target) -> bool:
    """`s` is a value S may take: one of the candidates, or any copy of a merged piece."""
    if s in target.s:
        return True
    piece = target.piece
    return piece is not None and \
        linked.image.read(s + piece.delta, len(piece.data)) == piece.data


def _any_copy(linked: Linked, info: RelocType, rel: InputReloc, p: int,
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
