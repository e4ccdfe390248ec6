"""What a program model must do once linked: its call trace into the libtrace libraries and
its exit status, computed by interpreting the model (nothing is run).

Symbol resolution follows the static-linking rules every linker agrees on: a reference from
object i first sees i's local symbols, then the strong global definition, then the largest
of the COMMON symbols of that name, then a weak definition (only one weak definition is
ever drawn when there is no strong one), then an import from a libtrace library.  COMDAT copies are identical, so any copy will do.

Archives (`Program.archives`): the plain objects are linked, then each archive in turn is
scanned again and again until it adds nothing (all the archives together when `grouped`);
a member is pulled when it defines a name that a linked object references strongly and no
linked object defines, or when it initialises (a real definition of) a data name that is
COMMON in the link — GNU ld's rule, which linkharness follows.  A weak reference pulls
nothing; a weakly referenced name that nothing linked defines has the address 0.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import accumulate

from . import libtrace
from .model import (
    AbsSymbol,
    AddrMask,
    AddrNonNull,
    Binding,
    Call,
    CallTable,
    Const,
    DataItem,
    Field,
    Function,
    IfOdd,
    Load,
    LoadThrough,
    ObjectModel,
    Program,
    Ref,
    SelfRel,
    Step,
    Store,
    walk_steps,
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


def references(obj: ObjectModel) -> set[str]:
    """Every name `obj` references (steps, and pointer fields of its data)."""
    names: set[str] = set()
    for fn in obj.functions:
        for s in walk_steps(fn.steps):
            names.add(s.target if isinstance(s, Call | AddrMask | AddrNonNull)
                      else s.table if isinstance(s, CallTable | LoadThrough) else s.item)
    names |= {f.target for d in obj.data for f in d.fields if isinstance(f, Ref)}
    return names


def definitions(obj: ObjectModel) -> set[str]:
    """The global names `obj` defines (COMMON included)."""
    defs: list[Function | DataItem] = [*obj.functions, *obj.data]
    return {d.name for d in defs if d.binding is not Binding.LOCAL} | {
        a.name for a in obj.absolutes}


def _strong_references(obj: ObjectModel) -> set[str]:
    defs: list[Function | DataItem] = [*obj.functions, *obj.data]
    local = {d.name for d in defs if d.binding is Binding.LOCAL}
    return references(obj) - set(obj.weak_refs) - local - definitions(obj)


def linked_objects(program: Program) -> frozenset[int]:
    """The objects a link of `program` takes: every plain object, and the archive members
    the rules in this module's docstring pull (in their order)."""
    members = {i for archive in program.archives for i in archive}
    linked = [i for i in range(len(program.objects)) if i not in members]
    objs = program.objects

    def wanted(m: int) -> bool:
        defined = set().union(*(definitions(objs[i]) for i in linked))
        needed = set().union(*(_strong_references(objs[i]) for i in linked)) - defined
        commons = {d.name for i in linked for d in objs[i].data if d.section is None}
        initialised = {d.name for d in objs[m].data  # STB_GLOBAL only, as GNU ld asks
                       if d.section is not None and d.binding is Binding.GLOBAL}
        return bool(definitions(objs[m]) & needed or initialised & commons)

    scans = [tuple(i for a in program.archives for i in a)] if program.grouped else list(
        program.archives)
    for archive in scans:
        pulled = True
        while pulled:
            pulled = False
            for m in archive:
                if m not in linked and wanted(m):
                    linked.append(m)
                    pulled = True
    return frozenset(linked)


class Resolver:
    def __init__(self, program: Program, only: frozenset[int] | None = None) -> None:
        """`only`: the objects the link takes (None: all of them, as a lowering sees)."""
        self.program = program
        self.locals: list[dict[str, Function | DataItem | AbsSymbol]] = []
        self.common_align: dict[str, int] = {}
        strong: dict[str, Resolved] = {}
        weak: dict[str, Resolved] = {}
        common: dict[str, Resolved] = {}
        for i, obj in enumerate(program.objects):
            local: dict[str, Function | DataItem | AbsSymbol] = {}
            if only is not None and i not in only:
                self.locals.append(local)
                continue
            defs: list[Function | DataItem | AbsSymbol] = [*obj.functions, *obj.data]
            for d in defs + list(obj.absolutes):
                binding = Binding.GLOBAL if isinstance(d, AbsSymbol) else d.binding
                if binding is Binding.LOCAL:
                    local[d.name] = d
                elif isinstance(d, DataItem) and d.section is None:
                    # COMMON symbols of one name merge into the largest of them, aligned
                    # as the most aligned of them
                    self.common_align[d.name] = max(self.common_align.get(d.name, 1), d.align)
                    seen = common.get(d.name)
                    if seen is None or (isinstance(seen.definition, DataItem)
                                        and seen.definition.size < d.size):
                        common[d.name] = Resolved(i, d)
                elif binding is Binding.WEAK:
                    weak.setdefault(d.name, Resolved(i, d))
                else:
                    strong.setdefault(d.name, Resolved(i, d))
            self.locals.append(local)
        # a COMMON beats a weak definition (GNU ld, gold, lld and linkharness agree; mold
        # 1.10.1 keeps the weak one), a strong definition beats both
        self.globals = {**weak, **common, **strong}

    def resolve(self, owner: int, name: str) -> Resolved:
        found = self.find(owner, name)
        if found is None:
            raise KeyError(f"{name} is not defined anywhere")
        return found

    def find(self, owner: int, name: str) -> Resolved | None:
        """The definition `owner`'s reference to `name` binds to, None when there is none."""
        local = self.locals[owner].get(name)
        if local is not None:
            return Resolved(owner, local)
        found = self.globals.get(name)
        if found is not None:
            return found
        imp = libtrace.IMPORTS.get(name)
        return None if imp is None else Resolved(-1, imp)

    def alignment(self, owner: int, name: str) -> int:
        """What the link guarantees of the address of `name` (0: nothing defines it, so
        the address is 0 and every bit is known)."""
        found = self.find(owner, name)
        if found is None:
            return 0
        d = found.definition
        if isinstance(d, DataItem) and d.section is None:
            return self.common_align[d.name]
        if isinstance(d, DataItem | Function):
            return d.align
        return 1  # imports (the library's alignment is not the model's) and absolutes


# Resolvers of the last few programs, by identity (see _RECENT below): an example's
# outcome, coverage labels and lowering each resolve the same program's names.
_RESOLVERS: deque[tuple[Program, frozenset[int] | None, Resolver]] = deque(maxlen=8)


def resolver_of(program: Program, only: frozenset[int] | None = None) -> Resolver:
    """Resolver(program, only), shared: a resolver is not changed once made."""
    if only is not None and len(only) == len(program.objects):
        only = None  # every object: the same resolver
    for seen, linked, made in _RESOLVERS:
        if seen is program and linked == only:
            return made
    made = Resolver(program, only)
    _RESOLVERS.append((program, only, made))
    return made


class Interpreter:
    def __init__(self, program: Program) -> None:
        self.resolver = resolver_of(program, linked_objects(program) if program.archives
                                    else None)
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
                # offsets summed as the fields go: offset_of(i) for each is quadratic
                # in the item's fields (the samples have an item of 2,048, not loaded)
                offsets = accumulate((f.width for f in d.fields), initial=0)
                self.memory[key] = [self.field_value(where.owner, f, offset)
                                    for f, offset in zip(d.fields, offsets)]
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
        if isinstance(step, LoadThrough):
            table = self.resolver.resolve(owner, step.table)
            assert isinstance(table.definition, DataItem)
            pointer = table.definition.fields[step.index]
            assert isinstance(pointer, Ref) and pointer.addend % 4 == 0
            target = self.resolver.resolve(table.owner, pointer.target)
            v = self.words(target)[pointer.addend // 4]
        elif isinstance(step, AddrNonNull):
            v = int(self.resolver.find(owner, step.target) is not None)
        elif isinstance(step, AddrMask):
            known = self.resolver.alignment(owner, step.target)
            assert known == 0 or step.mask < known, f"{step.target}: bits the model cannot know"
            v = 0
        elif isinstance(step, Call):
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


# The outcomes of the last few programs, by identity (each program held, so that a new one
# never meets an old one's id): the strategies interpret every drawn program once to
# refuse runaway ones, and the property then asks for the same program's outcome.
_RECENT: deque[tuple[Program, Outcome]] = deque(maxlen=4)


def outcome(program: Program) -> Outcome:
    """The trace and exit status of a valid program (raises TooBusy for runaway ones)."""
    for seen, known in _RECENT:
        if seen is program:
            return known
    interp = Interpreter(program)
    main = interp.resolver.resolve(0, program.main)
    status = interp.call(main, 0, ()) & 0xFF
    result = Outcome(tuple(interp.trace), status)
    _RECENT.append((program, result))
    return result
