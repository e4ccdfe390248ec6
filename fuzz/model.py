"""The program model: what a drawn program is, independent of object format and architecture.

A program is a set of objects.  Each object has sections (code, data, read-only data, zero
data; custom names; alignments up to 4096; some in COMDAT groups), and puts functions, data
items and absolute symbols into them.  Functions are lists of steps; a step calls something
(directly, through the linkage table, through a GOT slot, through a pointer table) or loads or
stores a data word (pc-relative, absolute, through a GOT slot).  Every step names a symbol and
says *how* the reference is made; an emitter turns the "how" into a relocation flavour of its
target.  `fuzz.semantics` computes what the program must do; emitters turn it into objects.

The semantics of a function, for every emitter: an accumulator starts at the function's seed;
every value-producing step (call or load) gives v and sets acc = acc * 31 + v (mod 2**64); a
store writes the low 32 bits of acc; `IfOdd(step)` runs its step only when acc is odd; the
function returns acc.  Calls pass the low 32 bits of acc as the first argument and the step's
constants (32-bit) as the next ones (only as many as the callee's arity; functions of the
model take none): one machine word each on every target, so that x86-64 and i386 programs
of one model make the same calls.  acc itself is 64-bit everywhere (i386 keeps it in two
registers).
The entry point calls `Program.main` and exits with its result & 0xff.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SectionKind(Enum):
    TEXT = "text"
    DATA = "data"
    RODATA = "rodata"
    BSS = "bss"


class Binding(Enum):
    LOCAL = "local"
    GLOBAL = "global"
    WEAK = "weak"


class CallVia(Enum):
    DIRECT = "direct"  # pc-relative call to the symbol itself
    PLT = "plt"  # pc-relative call through the linkage table
    GOT_INDIRECT = "got_indirect"  # call through the GOT slot in memory (relaxable)
    GOT_LOAD = "got_load"  # load the GOT slot into a register, call it (relaxable)
    GOT_LOAD_STRICT = "got_load_strict"  # the same with the non-relaxable relocation


class AddrVia(Enum):
    PC_REL = "pc_rel"  # pc-relative operand
    ABS_S32 = "abs_s32"  # absolute sign-extended 32-bit displacement
    ABS_U32 = "abs_u32"  # absolute zero-extended 32-bit immediate, then through a register
    GOT = "got"  # address from the symbol's GOT slot, then through a register
    GOT_BASE = "got_base"  # GOT base (pc-relative) plus the symbol's offset from it
    GOT_OFFSET = "got_offset"  # the GOT slot found at its offset from the GOT base


class ErrorKind(Enum):
    UNDEFINED = "undefined"
    DUPLICATE = "duplicate"
    OVERFLOW = "overflow"


@dataclass(frozen=True)
class Const:
    """A field of `width` bytes holding a constant."""

    width: int
    value: int


@dataclass(frozen=True)
class Ref:
    """A field of `width` bytes holding the address (or value, for an absolute symbol) of
    `target` plus `addend`."""

    width: int
    target: str
    addend: int = 0
    signed: bool = False  # a 4-byte field read sign-extended (R_X86_64_32S; x86-64 ELF only)


@dataclass(frozen=True)
class SelfRel:
    """A field of `width` bytes holding (its own item's address + `addend`) minus the
    field's address: a pc-relative datum whose value the model knows without addresses,
    because the linker keeps an input section's contents together."""

    width: int
    addend: int


Field = Const | Ref | SelfRel


@dataclass(frozen=True)
class Section:
    name: str
    kind: SectionKind
    align: int
    group: str | None = None  # COMDAT signature symbol


@dataclass(frozen=True)
class DataItem:
    name: str
    binding: Binding
    section: str | None  # None: a COMMON symbol
    align: int
    fields: tuple[Field, ...]

    @property
    def size(self) -> int:
        return sum(f.width for f in self.fields)

    def offset_of(self, index: int) -> int:
        return sum(f.width for f in self.fields[:index])


@dataclass(frozen=True)
class AbsSymbol:
    """A symbol with a fixed value and no section (SHN_ABS on ELF)."""

    name: str
    value: int


@dataclass(frozen=True)
class Call:
    target: str
    via: CallVia
    args: tuple[int, ...] = ()  # constants for argument 2..; acc is argument 1


@dataclass(frozen=True)
class CallTable:
    """Call the function whose pointer is field `index` of data item `table`."""

    table: str
    index: int
    via: AddrVia
    args: tuple[int, ...] = ()


@dataclass(frozen=True)
class Load:
    item: str
    index: int
    via: AddrVia


@dataclass(frozen=True)
class Store:
    item: str
    index: int
    via: AddrVia


@dataclass(frozen=True)
class AddrMask:
    """v = (the address of `target`) & `mask`: the generators ask only for bits the model
    knows (an alignment's low bits, which must be 0; any bits of an undefined weak symbol,
    whose address is 0)."""

    target: str
    via: AddrVia
    mask: int


@dataclass(frozen=True)
class AddrNonNull:
    """v = 1 when the address of `target` is not 0, else 0 (C's `if (&f)` on a weak
    reference: 0 exactly when nothing linked defines it)."""

    target: str
    via: AddrVia


@dataclass(frozen=True)
class LoadThrough:
    """Load the pointer in field `index` of data item `table` (an 8-byte `Ref` to data, the
    addend a multiple of 4), then the word it points at: v = that word (x86-64 ELF only)."""

    table: str
    index: int
    via: AddrVia


@dataclass(frozen=True)
class IfOdd:
    step: Call | CallTable | Load | Store | AddrMask | AddrNonNull | LoadThrough


Step = Call | CallTable | Load | Store | AddrMask | AddrNonNull | LoadThrough | IfOdd


@dataclass(frozen=True)
class Function:
    name: str
    binding: Binding
    section: str
    align: int
    seed: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ObjectModel:
    name: str
    sections: tuple[Section, ...]
    functions: tuple[Function, ...] = ()
    data: tuple[DataItem, ...] = ()
    absolutes: tuple[AbsSymbol, ...] = ()
    # names this object references weakly (STB_WEAK undefined): they pull no archive member
    # and, defined nowhere, have the address 0
    weak_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Program:
    objects: tuple[ObjectModel, ...]
    libraries: tuple[int, ...]  # N of every libtraceN.so linked against
    main: str = "lh_main"
    error: ErrorKind | None = None
    culprit: str | None = None  # the symbol an error model is about
    culprit_object: str | None = None  # the object whose reference/definition is wrong
    # objects (indices) that go into archives, one tuple per archive, linked after the plain
    # objects in this order; `grouped`: the archives sit in one --start-group/--end-group.
    # Which members a link pulls is the model's to say (fuzz.semantics.linked_objects).
    archives: tuple[tuple[int, ...], ...] = ()
    grouped: bool = False


def walk_steps(steps: tuple[Step, ...]
               ) -> list[Call | CallTable | Load | Store | AddrMask | AddrNonNull | LoadThrough]:
    """The steps with IfOdd wrappers removed."""
    return [s.step if isinstance(s, IfOdd) else s for s in steps]
