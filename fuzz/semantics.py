"""What a program model must do once linked: its call trace into the libtrace libraries and
its exit status, computed by interpreting the model (nothing is run).

Symbol resolution follows the static-linking rules every linker agrees on: a reference from
object i first sees i's local symbols, then the strong global definition, then a weak one
(only one weak definition is ever drawn when there is no strong one), then the largest of
the COMMON symbols of that name, then an import from a libtrace library.  COMDAT copies are identical, so any copy will do.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import libtrace
from .model import (
    AbsSymbol,
    Binding,
    Call,
    CallTable,
    Const,
    DataItem,
    Field,
    Function,
    IfOdd,
    Load,
    Program,
    Ref,
    SelfRel,
    Step,
    Store,
)

MASK64 = (1 << 64) - 1
ARG_MASK = 0xFFFFFFFF  # what a call passes of acc (see fuzz.model)
MAX_CALLS = 400  # a guard: the strategies never draw programs this busy


@dataclass(frozen=True)
class TraceEntry:
    library: str  # soname
    symbol: str
    args: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    trace: tuple[TraceEntry, ...]
    status: int


@dataclass(frozen=True)
class Resolved:
    """A definition: owner is the defining object's index, or -1 for an import."""

    owner: int
    definition: Function | DataItem | AbsSymbol | libtrace.Import


class TooBusy(Exception):
    """The program makes more than MAX_CALLS calls."""


class Resolver:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.locals: list[dict[str, Function | DataItem | AbsSymbol]] = []
        strong: dict[str, Resolved] = {}
        weak: dict[str, Resolved] = {}
        for i, obj in enumerate(program.objects):
            local: dict[str, Function | DataItem | AbsSymbol] = {}
            defs: list[Function | DataItem | AbsSymbol] = [*obj.functions, *obj.data]
            for d in defs + list(obj.absolutes):
                binding = Binding.GLOBAL if isinstance(d, AbsSymbol) else d.binding
                if binding is Binding.LOCAL:
                    local[d.name] = d
                elif isinstance(d, DataItem) and d.section is None:
                    # COMMON symbols of one name merge into the largest of them
                    seen = weak.get(d.name)
                    if seen is None or (isinstance(seen.definition, DataItem)
                                        and seen.definition.size < d.size):
                        weak[d.name] = Resolved(i, d)
                elif binding is Binding.WEAK:
                    weak.setdefault(d.name, Resolved(i, d))
                else:
                    strong.setdefault(d.name, Resolved(i, d))
            self.locals.append(local)
        self.globals = {**weak, **strong}

    def resolve(self, owner: int, name: str) -> Resolved:
        local = self.locals[owner].get(name)
        if local is not None:
            return Resolved(owner, local)
        found = self.globals.get(name)
        if found is not None:
            return found
        imp = libtrace.IMPORTS.get(name)
        if imp is None:
            raise KeyError(f"{name} is not defined anywhere")
        return Resolved(-1, imp)


class Interpreter:
    def __init__(self, program: Program) -> None:
        self.resolver = Resolver(program)
        self.trace: list[TraceEntry] = []
        self.memory: dict[tuple[int, str], list[int]] = {}
        self.calls = 0

    def words(self, where: Resolved) -> list[int]:
        """The current field values of a data definition (stores update them)."""
        d = where.definition
        key = (where.owner, d.name)
        if key not in self.memory:
            if isinstance(d, libtrace.Import):
                self.memory[key] = [libtrace.data_word(d.name, k) for k in range(d.size // 4)]
            elif isinstance(d, DataItem):
                self.memory[key] = [self.field_value(where.owner, f, d.offset_of(i))
                                    for i, f in enumerate(d.fields)]
            else:
                raise TypeError(f"{d.name} is not a data item")
        return self.memory[key]

    def field_value(self, owner: int, f: Field, offset: int) -> int:
        if isinstance(f, Const):
            return f.value
        if isinstance(f, SelfRel):
            return (f.addend - offset) & ((1 << (8 * f.width)) - 1)
        target = self.resolver.resolve(owner, f.target).definition
        if isinstance(target, AbsSymbol):
            return (target.value + f.addend) & ((1 << (8 * f.width)) - 1)
        return -1  # an address: not known to the model, never loaded as a value

    def call(self, where: Resolved, acc: int, consts: tuple[int, ...]) -> int:
        d = where.definition
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise TooBusy
        if isinstance(d, libtrace.Import):
            # the low 32 bits of acc: a machine word on every target (i386 passes words)
            args = (acc & ARG_MASK, *consts)[: libtrace.arity_of(d.name)]
            self.trace.append(TraceEntry(d.soname, d.name, args))
            return libtrace.function_result(d.name, args)
        if not isinstance(d, Function):
            raise TypeError(f"{d.name} is not a function")
        return self.run(where.owner, d)

    def run(self, owner: int, fn: Function) -> int:
        acc = fn.seed
        for step in fn.steps:
            acc = self.step(owner, step, acc)
        return acc

    def step(self, owner: int, step: Step, acc: int) -> int:
        if isinstance(step, IfOdd):
            return self.step(owner, step.step, acc) if acc & 1 else acc
        if isinstance(step, Store):
            self.words(self.resolver.resolve(owner, step.item))[step.index] = acc & 0xFFFFFFFF
            return acc
        if isinstance(step, Call):
            v = self.call(self.resolver.resolve(owner, step.target), acc, step.args)
        elif isinstance(step, CallTable):
            table = self.resolver.resolve(owner, step.table)
            assert isinstance(table.definition, DataItem)
            entry = table.definition.fields[step.index]
            assert isinstance(entry, Ref)
            v = self.call(self.resolver.resolve(table.owner, entry.target), acc, step.args)
        else:
            assert isinstance(step, Load)
            v = self.words(self.resolver.resolve(owner, step.item))[step.index]
            assert v >= 0, f"load of an address from {step.item}"
        return (acc * 31 + v) & MASK64


def outcome(program: Program) -> Outcome:
    """The trace and exit status of a valid program (raises TooBusy for runaway ones)."""
    interp = Interpreter(program)
    main = interp.resolver.resolve(0, program.main)
    status = interp.call(main, 0, ()) & 0xFF
    return Outcome(tuple(interp.trace), status)
