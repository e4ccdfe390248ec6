"""Programs of several modules: an executable and one to three shared libraries, each built
from one or two objects, whose symbols meet across modules as ELF's dynamic linking says.

The model (what a drawn program is):

- `Definition`s of functions (`fN`), data arrays (`dN`, 32-bit words), thread-local arrays
  (`tN`), function pointers (`pN`, holding the address of a function) and data pointers
  (`qN`, the address of a word of an array); each in one module and one of its objects,
  with default, hidden or protected visibility.  A name may be defined in several modules
  (interposition); a pointer is in `.data` or, `const`, in `.data.rel.ro` (RELRO).
- A function's body is a list of `Term`s over an accumulator (32-bit): each value-producing
  term gives v and sets acc = acc * 31 + v; a store writes acc into a word.
- The executable's `lh_start` runs `main` term by term and reports acc after each through
  libtrace1's `lt1_f1_a1`, so the trace holds one entry per main term; the exit status is
  acc & 0xff.

The semantics (`outcome`) are ELF's: a reference from module M to name N binds to M's own
definition when M is the executable or the definition is hidden or protected, or when M was
linked with a dynamic list (`--dynamic-list` in -shared) that does not name N, or N is a
function and M was linked -Bsymbolic-functions; otherwise to
the first module in the global scope (the executable, then the libraries breadth first in
DT_NEEDED order) that exports N (hidden definitions are not exported).  Data has one
instance per binding: whether the executable reaches a library's array through a COPY
relocation or the library through its GOT, both see the same words.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from hypothesis import strategies as st

MASK = 0xFFFFFFFF
VISIBILITIES = ("default", "hidden", "protected")
FUNCTION, DATA, TLS, FPTR, DPTR = "func", "data", "tls", "fptr", "dptr"
PREFIX = {FUNCTION: "f", DATA: "d", TLS: "t", FPTR: "p", DPTR: "q"}
# term kinds: call fN; load/store dN[k]; tload/tstore tN[k]; call_ptr pN; load_ptr qN
VALUE_TERMS = ("call", "load", "tload", "call_ptr", "load_ptr")


@dataclass(frozen=True)
class Term:
    kind: str
    name: str
    index: int = 0


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str
    module: int  # 0: the executable; n: library n
    obj: int  # which of the module's objects
    visibility: str = "default"
    seed: int = 0  # a function's accumulator start
    words: tuple[int, ...] = ()  # an array's initial words (all 0: .bss/.tbss)
    body: tuple[Term, ...] = ()
    target: str = ""  # a pointer's function or array
    offset: int = 0  # a data pointer's word
    const: bool = False  # a pointer in .data.rel.ro

    @property
    def rank(self) -> int:
        return int(self.name[1:])


@dataclass(frozen=True)
class ModuleProgram:
    libraries: int
    objects: tuple[int, ...]  # objects per module (executable first)
    exe_needs: tuple[int, ...]  # the libraries the executable links, in command-line order
    lib_needs: tuple[tuple[int, ...], ...]  # per library (1..): the libraries it links
    definitions: tuple[Definition, ...]
    main: tuple[Term, ...]
    exe_pic: str = "pie"  # how the executable's code is compiled: "pie", "pic" or "nopic"
    # per library (1..), the --dynamic-list it is linked with (names and globs), or None;
    # () when no library has one
    dynamic_lists: tuple[tuple[str, ...] | None, ...] = ()
    # per library (1..), linked -Bsymbolic-functions (its own default functions bound
    # locally); () when none is
    symbolic_functions: tuple[bool, ...] = ()
    # per library (1..), linked --default-symver: each of its exports versioned after its
    # soname (the version node at index 2, after the base); () when none is.  Lookup is
    # unchanged; the judge holds each export's version to it, and ld.so checks the
    # executable's version needs against it
    default_symver: tuple[bool, ...] = ()

    def preemptible_in(self, module: int, name: str) -> bool:
        """Does library `module`'s own default definition of `name` stay preemptible? Not
        when its dynamic list leaves the name out (GNU ld and lld bind it locally)."""
        if not module or not self.dynamic_lists or self.dynamic_lists[module - 1] is None:
            return True
        return any(fnmatch.fnmatchcase(name, p) for p in self.dynamic_lists[module - 1] or ())

    def defined(self) -> dict[tuple[int, str], Definition]:
        return {(d.module, d.name): d for d in self.definitions}

    def scope(self) -> list[int]:
        """The global lookup order: the executable, then its DT_NEEDED closure breadth
        first (as ld.so builds it)."""
        order = [0]
        queue = list(self.exe_needs)
        while queue:
            lib = queue.pop(0)
            if lib in order:
                continue
            order.append(lib)
            queue += self.lib_needs[lib - 1]
        return order


def resolve(program: ModuleProgram, module: int, name: str,
            defs: dict[tuple[int, str], Definition] | None = None) -> int | None:
    """The module whose definition of `name` a reference from `module` binds to."""
    defs = program.defined() if defs is None else defs
    own = defs.get((module, name))
    if own is not None and (module == 0 or own.visibility != "default"
                            or not program.preemptible_in(module, name)
                            or own.kind == FUNCTION and program.symbolic_functions
                            and program.symbolic_functions[module - 1]):
        return module
    for candidate in program.scope():
        found = defs.get((candidate, name))
        if found is not None and found.visibility != "hidden":
            return candidate
    return None


def referable(program: ModuleProgram, module: int, name: str,
              defs: dict[tuple[int, str], Definition]) -> Definition | None:
    """The definition a reference from `module` to `name` binds to, when the reference may
    be written at all: it binds somewhere, and no library refers across modules to a name
    the executable defines hidden (GNU ld and lld refuse that link: "hidden symbol
    referenced by DSO")."""
    home = resolve(program, module, name, defs)
    if home is None:
        return None
    exe = defs.get((0, name))
    if module and home != module and exe is not None and exe.visibility == "hidden":
        return None
    return defs[home, name]


@dataclass
class _State:
    program: ModuleProgram
    defs: dict[tuple[int, str], Definition]
    words: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    def cell(self, module: int, name: str) -> list[int]:
        key = (module, name)
        if key not in self.words:
            self.words[key] = list(self.defs[key].words)
        return self.words[key]

    def bind(self, module: int, name: str) -> int:
        found = resolve(self.program, module, name, self.defs)
        assert found is not None, f"{name} from module {module} binds to nothing"
        return found

    def call(self, module: int, name: str) -> int:
        d = self.defs[module, name]
        return self.run(module, d.body, d.seed)

    def run(self, module: int, terms: tuple[Term, ...], acc: int,
            after: list[int] | None = None) -> int:
        for term in terms:
            v: int | None = None
            if term.kind == "call":
                v = self.call(self.bind(module, term.name), term.name)
            elif term.kind in ("load", "tload"):
                v = self.cell(self.bind(module, term.name), term.name)[term.index]
            elif term.kind in ("store", "tstore"):
                self.cell(self.bind(module, term.name), term.name)[term.index] = acc
            elif term.kind == "call_ptr":
                holder = self.bind(module, term.name)
                target = self.defs[holder, term.name].target
                v = self.call(self.bind(holder, target), target)
            elif term.kind == "load_ptr":
                holder = self.bind(module, term.name)
                pointer = self.defs[holder, term.name]
                v = self.cell(self.bind(holder, pointer.target), pointer.target)[pointer.offset]
            if v is not None:
                acc = (acc * 31 + v) & MASK
            if after is not None:
                after.append(acc)
        return acc


def outcome(program: ModuleProgram) -> tuple[tuple[int, ...], int]:
    """(the values lh_start reports, one per main term; the exit status)."""
    state = _State(program, program.defined())
    reported: list[int] = []
    acc = state.run(0, program.main, 0, reported)
    return tuple(reported), acc & 0xFF


def references(program: ModuleProgram) -> dict[int, set[str]]:
    """Per module, the names its code and data refer to (its declarations)."""
    out: dict[int, set[str]] = {m: set() for m in range(program.libraries + 1)}
    for d in program.definitions:
        out[d.module] |= {t.name for t in d.body}
        if d.target:
            out[d.module].add(d.target)
    out[0] |= {t.name for t in program.main}
    return out


# -- drawing programs --

def _visibility(draw: st.DrawFn, kind: str, module: int) -> str:
    if kind in (FPTR, DPTR):
        return "default"
    choices = ("default", "hidden", "protected") if kind == FUNCTION else ("default", "hidden")
    return draw(st.sampled_from(choices)) if module else draw(
        st.sampled_from(("default", "default", "hidden")))


@st.composite
def programs(draw: st.DrawFn, tls: bool = True) -> ModuleProgram:
    libraries = draw(st.integers(1, 3))
    objects = tuple(draw(st.integers(1, 2)) for _ in range(libraries + 1))
    exe_needs = tuple(draw(st.permutations(range(1, libraries + 1))))
    kinds = [FUNCTION, DATA, FPTR, DPTR] + ([TLS] if tls else [])
    defs: list[Definition] = []
    counts = {k: 0 for k in kinds}
    for _ in range(draw(st.integers(4, 12))):
        kind = draw(st.sampled_from(kinds))
        # one to two defining modules (interposition when two)
        homes = draw(st.lists(st.integers(0, libraries), min_size=1, max_size=2, unique=True))
        if kind in (FPTR, DPTR):
            homes = homes[:1]
            sofar = ModuleProgram(libraries, objects, exe_needs,
                                  tuple(() for _ in range(libraries)), tuple(defs), ())
            if not _pointer_targets(sofar, kind, homes[0]):
                continue
        name = f"{PREFIX[kind]}{counts[kind]}"
        counts[kind] += 1
        for module in homes:
            sofar = ModuleProgram(libraries, objects, exe_needs,
                                  tuple(() for _ in range(libraries)), tuple(defs), ())
            defs.append(_definition(draw, kind, name, module, objects[module], sofar))
    if not any(d.kind == DATA and d.module == 0 for d in defs):
        # something main can always reach (a draw may define nothing it may refer to)
        defs.append(Definition(f"d{counts.get(DATA, 0)}", DATA, 0, 0,
                               words=(draw(st.integers(0, MASK)),)))
    program = ModuleProgram(libraries, objects, exe_needs, tuple(() for _ in range(libraries)),
                            tuple(defs), ())
    defs = [_with_body(draw, program, d) for d in defs]
    program = ModuleProgram(libraries, objects, exe_needs,
                            _library_needs(program, defs), tuple(defs), (),
                            draw(st.sampled_from(("pie", "pie", "pic", "nopic"))))
    main = _terms(draw, program, 0, None, 2, 8)
    assert main, "the executable's own array is always referable"
    program = ModuleProgram(program.libraries, objects, exe_needs, program.lib_needs,
                            program.definitions, main, program.exe_pic)
    # per library: a dynamic list (a third), -Bsymbolic-functions (a sixth),
    # --default-symver (a sixth), or none of them
    how = [draw(st.integers(0, 5)) for _ in range(libraries)]
    lists = tuple(_dynamic_list(draw, program, lib) if how[lib - 1] < 2 else None
                  for lib in range(1, libraries + 1))
    symbolic = tuple(h == 2 for h in how)
    default_symver = tuple(h == 3 for h in how)
    return ModuleProgram(program.libraries, objects, exe_needs, program.lib_needs,
                         program.definitions, main, program.exe_pic,
                         lists if any(x is not None for x in lists) else (),
                         symbolic if any(symbolic) else (),
                         default_symver if any(default_symver) else ())


NOTHING_PATTERN = "lh_unlisted_*"  # a glob naming no symbol: GNU ld refuses an empty list


def _dynamic_list(draw: st.DrawFn, program: ModuleProgram, lib: int) -> tuple[str, ...]:
    """A --dynamic-list for library `lib`, drawn once everything else is: which of its
    default definitions stay preemptible.  Leaving a name out binds the library's own
    references to its own definition, which the model allows only where that cannot change
    what a drawn term reaches besides the call itself: a function always; an array,
    thread-local array or pointer only when no earlier module in the scope exports the name
    (its words, its target stay the ones the terms were drawn for) and, for the data kinds,
    the executable does not refer to it (a COPY relocation would give the executable a copy
    that the library, bound locally, never sees)."""
    defs = program.defined()
    exe_refs = references(program)[0]
    out: list[str] = []
    for d in sorted((d for d in program.definitions if d.module == lib
                     and d.visibility == "default"), key=lambda d: d.name):
        may_leave_out = d.kind == FUNCTION or (
            resolve(program, lib, d.name, defs) == lib
            and (d.kind == TLS or d.name not in exe_refs))
        if not may_leave_out or draw(st.booleans()):
            out.append(d.name)
    if draw(st.integers(0, 3)) == 0 and out:
        # a glob standing for the names of one kind that are listed anyway
        prefix = out[-1][0]
        if all(d.name in out for d in program.definitions if d.module == lib
               and d.visibility == "default" and d.name.startswith(prefix)):
            out = [n for n in out if not n.startswith(prefix)] + [f"{prefix}*"]
    return tuple(out) or (NOTHING_PATTERN,)


def _pointer_targets(program: ModuleProgram, kind: str, module: int) -> list[Definition]:
    """What a pointer in `module` may point at: functions (not protected: a protected
    function's address is not the canonical one) or arrays its references bind to."""
    wanted = FUNCTION if kind == FPTR else DATA
    defs = program.defined()
    out = []
    for name in sorted({d.name for d in program.definitions if d.kind == wanted}):
        bound = referable(program, module, name, defs)
        if bound is not None and bound.visibility != "protected":
            out.append(bound)
    return out


def _definition(draw: st.DrawFn, kind: str, name: str, module: int, objects: int,
                program: ModuleProgram) -> Definition:
    obj = draw(st.integers(0, objects - 1))
    vis = _visibility(draw, kind, module)
    if kind in (DATA, TLS):
        n = draw(st.integers(1, 3))
        zero = draw(st.integers(0, 3)) == 0
        words = tuple(0 if zero else draw(st.integers(1, MASK)) for _ in range(n))
        return Definition(name, kind, module, obj, vis, words=words)
    if kind == FUNCTION:
        return Definition(name, kind, module, obj, vis, seed=draw(st.integers(0, MASK)))
    target = draw(st.sampled_from(_pointer_targets(program, kind, module)))
    offset = draw(st.integers(0, len(target.words) - 1)) if kind == DPTR else 0
    return Definition(name, kind, module, obj, "default", target=target.name, offset=offset,
                      const=draw(st.booleans()))


def _with_body(draw: st.DrawFn, program: ModuleProgram, d: Definition) -> Definition:
    if d.kind != FUNCTION:
        return d
    body = _terms(draw, program, d.module, d.rank, 0, 5)
    return Definition(d.name, d.kind, d.module, d.obj, d.visibility, d.seed, d.words, body)


def _terms(draw: st.DrawFn, program: ModuleProgram, module: int, rank: int | None,
           least: int, most: int) -> tuple[Term, ...]:
    """Terms for code in `module` (a function of `rank`, or main when None): only names
    that bind from there, calls only to lower ranks (so every call chain ends), words
    inside every definition the name may bind to."""
    defs = program.defined()
    options: list[Term] = []
    for name in sorted({n for _, n in defs}):
        bound = referable(program, module, name, defs)
        if bound is None:
            continue
        if bound.kind == FUNCTION and (rank is None or bound.rank < rank):
            options.append(Term("call", name))
        elif bound.kind in (DATA, TLS):
            prefix = "t" if bound.kind == TLS else ""
            for k in range(len(bound.words)):
                options += [Term(prefix + "load", name, k), Term(prefix + "store", name, k)]
        elif bound.kind == FPTR:
            target_rank = int(bound.target[1:])
            if rank is None or target_rank < rank:
                options.append(Term("call_ptr", name))
        elif bound.kind == DPTR:
            options.append(Term("load_ptr", name))
    options = list(dict.fromkeys(options))
    if not options:
        return ()
    return tuple(draw(st.lists(st.sampled_from(options), min_size=least, max_size=most)))


def _library_needs(program: ModuleProgram, defs: list[Definition]
                   ) -> tuple[tuple[int, ...], ...]:
    """Each library links the later libraries that define a name it refers to (later only,
    so the DT_NEEDED graph has no cycle; a name found only earlier or in the executable is
    left undefined, to be bound in the global scope)."""
    refs: dict[int, set[str]] = {m: set() for m in range(1, program.libraries + 1)}
    for d in defs:
        if d.module:
            refs[d.module] |= {t.name for t in d.body} | ({d.target} if d.target else set())
    needs = []
    for lib in range(1, program.libraries + 1):
        needs.append(tuple(other for other in range(lib + 1, program.libraries + 1)
                           if any((other, n) in {(x.module, x.name) for x in defs}
                                  for n in refs[lib])))
    return tuple(needs)


def describe(program: ModuleProgram) -> set[str]:
    """Coverage labels (fuzz/inventory.py rows of the modules family)."""
    # every module program is linked by linkharness with -z relro (fuzz.modules_build)
    labels = {f"modules:{program.libraries}lib", f"modules:exe-{program.exe_pic}",
              "modules:relro"}
    if any(program.lib_needs):
        labels.add("modules:needed-chain")
    defs = program.defined()
    names = {d.name for d in program.definitions}
    for name in names:
        homes = [m for (m, n) in defs if n == name]
        if len(homes) > 1:
            labels.add("modules:interposed")
    for d in program.definitions:
        labels.add(f"modules:{d.kind}-{d.visibility}")
        if d.kind in (FPTR, DPTR):
            labels.add(f"modules:{d.kind}-{'relro' if d.const else 'data'}")
    refs = references(program)
    for module, used in refs.items():
        for name in used:
            home = resolve(program, module, name, defs)
            if home is not None and home != module:
                kind = defs[home, name].kind
                labels.add(f"modules:{kind}-{'exe' if module == 0 else 'lib'}-to-"
                           f"{'exe' if home == 0 else 'lib'}")
    if program.dynamic_lists:
        labels.add("modules:dynamic-list")
        for d in program.definitions:
            if d.module and d.visibility == "default" and not program.preemptible_in(
                    d.module, d.name) and name_bound_elsewhere(program, d, defs):
                labels.add("modules:dynamic-list-unlisted-interposed")
    if any(program.default_symver):
        labels.add("modules:default-symver")
    if any(program.symbolic_functions):
        labels.add("modules:symbolic-functions")
        for d in program.definitions:
            if d.module and d.kind == FUNCTION and d.visibility == "default" \
                    and program.symbolic_functions[d.module - 1] \
                    and name_bound_elsewhere(program, d, defs):
                labels.add("modules:symbolic-functions-interposed")
    if program.exe_pic == "pic":  # -fPIC executable code: GD/LD sequences to relax
        for name in refs[0]:
            home = resolve(program, 0, name, defs)
            bound = defs[home, name] if home is not None else None
            if bound is not None and bound.kind == TLS:
                labels.add("modules:tls-ld-in-exe" if home == 0 and bound.visibility ==
                           "hidden" else "modules:tls-gd-in-exe")
    return labels


def name_bound_elsewhere(program: ModuleProgram, d: Definition,
                         defs: dict[tuple[int, str], Definition]) -> bool:
    """Do references from other modules to `d`'s name bind elsewhere than to `d` (an
    earlier module interposes it), while `d`'s own module, unlisted, keeps its own?"""
    return any(resolve(program, m, d.name, defs) not in (None, d.module)
               for m in range(program.libraries + 1) if m != d.module)
