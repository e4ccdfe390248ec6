"""Thread-local storage: TP offsets, the GOT slots holding them, and IE -> LE rewrites.

In an executable a linker may turn an initial-exec load of a variable's TP offset from the
GOT into an immediate (the offset is a link-time constant):
x86-64 R_X86_64_GOTTPOFF, REX at P-3, opcode at P-2, ModRM at P-1:
    mov foo@gottpoff(%rip), %reg  -> mov $off, %reg        (c7 /0, REX.R -> REX.B)
    add foo@gottpoff(%rip), %reg  -> add $off, %reg        (81 /0, REX.R -> REX.B)
                                  -> lea off(%reg), %reg   (8d, mod 10, REX.R -> R and B)
    with off = S + A + 4 - TP (A is -4: the field's distance to the instruction's end).
i386 R_386_TLS_IE (absolute slot) and R_386_TLS_GOTIE (slot - GOT):
    movl foo@indntpoff, %eax      -> movl $off, %eax       (a1 -> b8)
    mov/add ...@indntpoff or @gotntpoff(%reg), %reg2 -> mov/add $off, %reg2 (c7 | 81 /0),
                                  or lea off(%reg2), %reg2 (8d)
    with off = S + A - TP.
General- and local-dynamic sequences are rewritten wholesale and are not checked.
"""

from __future__ import annotations

from .expect import Expectation, formula
from .image import OutputImage
from .types import Range


def tls_slots(image: OutputImage, name: str, offsets: tuple[int, ...]) -> list[int]:
    """GOT words that hold one of the TP `offsets`, or a dynamic TPOFF naming `name`."""
    mask = (1 << (8 * image.word)) - 1
    words = image.got_words()
    static = [slot for off in dict.fromkeys(offsets) for slot in words.get(off & mask, [])]
    dynamic = image.slots_of(name, ("TPOFF",)) if name else []
    return list(dict.fromkeys(dynamic + static))


def tls_relaxed(machine: str, before: bytes, site: int, s: int, a: int,
                tp: int) -> list[Expectation]:
    """IE -> LE forms for a field at `site`; `before` holds the 3 input bytes before it."""
    if len(before) < 3:
        return []
    out: list[Expectation] = []
    if machine == "x86_64":
        value, text = formula([("+", "S", s), ("+", "A + 4", a + 4), ("-", "TP", tp)])
    else:
        value, text = formula([("+", "S", s), ("+", "A", a), ("-", "TP", tp)])
    rex, op, modrm = before
    reg = (modrm >> 3) & 7

    def expect(rule: str, *opcodes: tuple[int, bytes]) -> None:
        out.append(Expectation(value, text, site, 4, Range.SIGNED, tuple(opcodes), rule))

    if machine == "x86_64":
        r_to_b = rex & ~0x04 | ((rex & 0x04) >> 2)
        r_and_b = rex | ((rex & 0x04) >> 2)
        if op == 0x8B:
            expect("mov -> mov $imm", (site - 3, bytes((r_to_b, 0xC7, 0xC0 | reg))))
        elif op == 0x03:
            expect("add -> add $imm", (site - 3, bytes((r_to_b, 0x81, 0xC0 | reg))))
            expect("add -> lea", (site - 3, bytes((r_and_b, 0x8D, 0x80 | reg << 3 | reg))))
        return out
    if modrm == 0xA1:  # movl foo@indntpoff, %eax (moffs form: opcode right before the field)
        expect("mov -> mov $imm", (site - 1, b"\xb8"))
    if op == 0x8B:
        expect("mov -> mov $imm", (site - 2, bytes((0xC7, 0xC0 | reg))))
    elif op == 0x03:
        expect("add -> add $imm", (site - 2, bytes((0x81, 0xC0 | reg))))
        expect("add -> lea", (site - 2, bytes((0x8D, 0x80 | reg << 3 | reg))))
    return out
