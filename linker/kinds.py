"""Abstract relocation kinds, and the one place where a relocated value is computed.

Every native relocation type (R_X86_64_PC32, R_386_GOTOFF, X86_64_RELOC_SIGNED_2, ...) is
translated by a reader into a `Howto`: an abstract `RelocKind` saying *what* is computed,
plus the width of the field and the overflow rule saying *how* it is stored.  Past the
readers nothing in the linker knows native relocation numbers.

The letters are those of DESIGN.md:

    S  symbol address             A  addend                 P  address of the field
    G  address of the GOT slot    L  PLT entry / stub (= S when defined in the output)
    GOT  GOT base (_GLOBAL_OFFSET_TABLE_)                    T  subtrahend symbol address
    TP   thread pointer: the end of the executable's TLS block (x86 variant II)
    TLS  start of the executable's TLS block (the module's DTV base, for DTPOFF)
    GT   address of the GOT slot holding the symbol's offset from TP
    GD   address of the GOT pair (module id, offset) of a TLS symbol; LD the module's pair

`compute` works element-wise on numpy arrays, so one call computes every relocation of a
link that shares a kind.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from .records import dataclass


class RelocKind(enum.IntEnum):
    """What a relocation computes (lld's RelExpr, reduced to what x86 needs)."""

    NONE = 0  # R_X86_64_NONE: nothing is written
    ABS = 1  # S + A
    PC = 2  # S + A - P
    PLT_PC = 3  # L + A - P
    GOT_PC = 4  # G + A - P
    GOT_OFF = 5  # G + A - GOT
    REL_GOT = 6  # S + A - GOT
    GOT_BASE_PC = 7  # GOT + A - P
    SUB = 8  # S - T + A
    SIZE = 9  # Z + A (symbol size)
    TLS_TPOFF = 10  # S + A - TP: offset from the thread pointer (local exec)
    TLS_GOT_PC = 11  # GT + A - P: a GOT slot holding S - TP (initial exec)
    GOT_ABS = 12  # G + A: the GOT slot's own address (i386 `foo@GOT` with no base register)
    PLT_OFF = 13  # L + A - GOT: the large code model's call through a PLT entry
    # S + A - TLS: offset in the module's TLS block (its start, PT_TLS p_vaddr); only in
    # debug information (DW_OP_const*; DW_OP_form_tls_address), where no code is relaxed.
    TLS_DTPOFF = 14
    # General dynamic: a GOT pair (module id, offset) that __tls_get_addr reads, G being the
    # pair's first slot; local dynamic: the module's own pair (offset 0).  Only in shared
    # objects: an executable's code is relaxed to initial or local exec first.
    TLS_GD_PC = 15  # G + A - P
    TLS_LD_PC = 16  # G + A - P
    # i386 forms: the same slots addressed from the GOT base (PIC, %ebx) or absolutely, and
    # local exec's negated offset (`subl $x@tpoff, %eax`).
    TLS_GD_OFF = 17  # GD + A - GOT
    TLS_LD_OFF = 18  # LD + A - GOT
    TLS_GOT_OFF = 19  # GT + A - GOT   (x@gotntpoff(%ebx))
    TLS_GOT_ABS = 20  # GT + A         (x@indntpoff)
    TLS_NEG_TPOFF = 21  # TP - S - A   (x@tpoff)


# Kinds that make the symbol need a GOT slot, or a PLT entry when it is imported.
NEEDS_GOT = frozenset({RelocKind.GOT_PC, RelocKind.GOT_OFF, RelocKind.GOT_ABS,
                       RelocKind.TLS_GOT_PC, RelocKind.TLS_GOT_OFF, RelocKind.TLS_GOT_ABS})
# Kinds whose GOT slot holds a TLS offset (S - TP), not an address.
TLS_GOT_KINDS = frozenset({RelocKind.TLS_GOT_PC, RelocKind.TLS_GOT_OFF, RelocKind.TLS_GOT_ABS})
NEEDS_PLT = frozenset({RelocKind.PLT_PC, RelocKind.PLT_OFF})
# Kinds that refer to the GOT base, so `_GLOBAL_OFFSET_TABLE_` must exist.
USES_GOT_BASE = frozenset({RelocKind.GOT_OFF, RelocKind.REL_GOT, RelocKind.GOT_BASE_PC,
                           RelocKind.PLT_OFF, RelocKind.TLS_GD_OFF, RelocKind.TLS_LD_OFF,
                           RelocKind.TLS_GOT_OFF})
PC_RELATIVE = frozenset({RelocKind.PC, RelocKind.PLT_PC, RelocKind.GOT_PC, RelocKind.GOT_BASE_PC,
                         RelocKind.TLS_GOT_PC, RelocKind.TLS_GD_PC, RelocKind.TLS_LD_PC})
TLS_PAIR = frozenset({RelocKind.TLS_GD_PC, RelocKind.TLS_LD_PC, RelocKind.TLS_GD_OFF,
                      RelocKind.TLS_LD_OFF})
TLS_LD_PAIR = frozenset({RelocKind.TLS_LD_PC, RelocKind.TLS_LD_OFF})


class Overflow(enum.IntEnum):
    """How a computed value must fit its field."""

    NONE = 0  # any value; truncate (R_X86_64_64, PC64)
    SIGNED = 1  # -2**(w-1) <= v < 2**(w-1)        (32S, PC32, PLT32, GOTPCREL)
    UNSIGNED = 2  # 0 <= v < 2**w                     (R_X86_64_32: zero-extended by the CPU)
    EITHER = 3  # -2**(w-1) <= v < 2**w             (R_X86_64_16, R_X86_64_8: either reading)


@dataclass(frozen=True, slots=True)
class Howto:
    """A native relocation type seen through the abstract model."""

    name: str  # native spelling, for messages: "R_X86_64_PC32"
    kind: RelocKind
    width: int  # bytes written: 1, 2, 4 or 8 (0 for NONE)
    overflow: Overflow
    # The form this relocation takes instead when the ModRM byte just before its field
    # names no base register (mod 00, r/m 101: a bare disp32).  The i386 psABI gives
    # R_386_GOT32/GOT32X two meanings told apart only by the instruction: `foo@GOT(%ebx)`
    # is the slot's offset from the GOT base, `foo@GOT` (non-PIC -fno-plt code) the slot's
    # address.  scan.py picks the form from the bytes; None: the table's form is final.
    no_base: Howto | None = None
    # The form a relaxable GOT load (R_X86_64_GOTPCRELX, R_386_GOT32X) takes when the
    # instruction is rewritten to use the symbol's address directly (elf/got_relax.py).
    direct: Howto | None = None
    # ... and the form a relaxed `call/jmp *GOT` takes when it differs from `direct` (i386:
    # the mov's form is GOTOFF, a branch's is pc-relative).
    branch: Howto | None = None

    def bounds(self) -> tuple[int, int]:
        """Inclusive range of values that fit the field."""
        bits = self.width * 8
        if self.overflow is Overflow.SIGNED:
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if self.overflow is Overflow.UNSIGNED:
            return 0, (1 << bits) - 1
        if self.overflow is Overflow.EITHER:
            return -(1 << (bits - 1)), (1 << bits) - 1
        return -(1 << 63), (1 << 64) - 1


def formula(kind: RelocKind) -> str:
    """The value of `kind`, in DESIGN.md's letters (used in error messages and the map)."""
    return _FORMULAS[kind]


_FORMULAS = {
    RelocKind.NONE: "-",
    RelocKind.ABS: "S + A",
    RelocKind.PC: "S + A - P",
    RelocKind.PLT_PC: "L + A - P",
    RelocKind.GOT_PC: "G + A - P",
    RelocKind.GOT_OFF: "G + A - GOT",
    RelocKind.REL_GOT: "S + A - GOT",
    RelocKind.GOT_BASE_PC: "GOT + A - P",
    RelocKind.SUB: "S - T + A",
    RelocKind.SIZE: "Z + A",
    RelocKind.TLS_TPOFF: "S + A - TP",
    RelocKind.TLS_GOT_PC: "GT + A - P",
    RelocKind.GOT_ABS: "G + A",
    RelocKind.PLT_OFF: "L + A - GOT",
    RelocKind.TLS_DTPOFF: "S + A - TLS",
    RelocKind.TLS_GD_PC: "GD + A - P",
    RelocKind.TLS_LD_PC: "LD + A - P",
    RelocKind.TLS_GD_OFF: "GD + A - GOT",
    RelocKind.TLS_LD_OFF: "LD + A - GOT",
    RelocKind.TLS_GOT_OFF: "GT + A - GOT",
    RelocKind.TLS_GOT_ABS: "GT + A",
    RelocKind.TLS_NEG_TPOFF: "TP - S - A",
}


def compute(
    kind: RelocKind,
    *,
    S: np.ndarray,
    A: np.ndarray,
    P: np.ndarray,
    G: np.ndarray,
    L: np.ndarray,
    GOT: int,
    T: np.ndarray,
    Z: np.ndarray,
    TP: int = 0,
    TLS: int = 0,
) -> np.ndarray:
    """Value of every relocation of one kind, as signed 64-bit integers (wrapping).

    Arrays are int64 and aligned element-wise; unused letters may be any array of the
    right length.  For TLS_GOT_PC, the caller passes the TLS GOT slot as G.  Python ints beyond 64 bits never arise: addresses fit in 63 bits.
    """
    if kind is RelocKind.ABS:
        return S + A
    if kind is RelocKind.PC:
        return S + A - P
    if kind is RelocKind.PLT_PC:
        return L + A - P
    if kind is RelocKind.GOT_PC:
        return G + A - P
    if kind is RelocKind.GOT_OFF:
        return G + A - GOT
    if kind is RelocKind.REL_GOT:
        return S + A - GOT
    if kind is RelocKind.GOT_BASE_PC:
        return GOT + A - P
    if kind is RelocKind.SUB:
        return S - T + A
    if kind is RelocKind.SIZE:
        return Z + A
    if kind is RelocKind.TLS_TPOFF:
        return S + A - TP
    if kind in (RelocKind.TLS_GOT_PC, RelocKind.TLS_GD_PC, RelocKind.TLS_LD_PC):
        return G + A - P
    if kind is RelocKind.PLT_OFF:
        return L + A - GOT
    if kind is RelocKind.GOT_ABS:
        return G + A
    if kind is RelocKind.TLS_DTPOFF:
        return S + A - TLS
    if kind in (RelocKind.TLS_GD_OFF, RelocKind.TLS_LD_OFF, RelocKind.TLS_GOT_OFF):
        return G + A - GOT
    if kind is RelocKind.TLS_GOT_ABS:
        return G + A
    if kind is RelocKind.TLS_NEG_TPOFF:
        return TP - S - A
    return np.zeros_like(A)


def first_index(howtos: Sequence[Howto]) -> dict[Howto, int]:
    """howto -> the index `howtos.index(howto)` gives (the first equal one), for every
    howto of the table in one pass: `index` compares dataclasses one by one, which for a
    table's forms was quadratic, and a fresh process paid it in its first link."""
    first: dict[Howto, int] = {}
    for n, h in enumerate(howtos):
        first.setdefault(h, n)
    return first


_T = TypeVar("_T")
# (function, id of the table) -> (the table, its result): the table is kept so its id
# stays its own for the life of the process.
_PER_TABLE: dict[tuple[Callable[..., object], int], tuple[Sequence[Howto], object]] = {}


def per_howto_table(func: Callable[[Sequence[Howto]], _T]) -> Callable[[Sequence[Howto]], _T]:
    """`func(howtos)` computed once per howto table.  The readers' tables are module-level
    tuples that every object of a link (and every link of a process) shares, so a lookup
    array derived from one is the same each time: a small link paid a few hundred µs
    rebuilding them (a Python step and a dataclass comparison per howto).  Only tuples are
    remembered, by identity (a list could change); results are shared, so read-only."""
    def cached(howtos: Sequence[Howto]) -> _T:
        if not isinstance(howtos, tuple):
            return func(howtos)
        key = (func, id(howtos))
        hit = _PER_TABLE.get(key)
        if hit is None or hit[0] is not howtos:
            hit = _PER_TABLE[key] = (howtos, func(howtos))
        return hit[1]  # type: ignore[return-value]
    return cached
