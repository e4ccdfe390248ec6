"""C++ `thread_local` objects with destructors on Mach-O (x86-64 and i386): drawn programs, their model,
their C++ source, and the clang++-14 objects the linker gets.

A case is two translation units.  Each defines some `thread_local Noisy` objects (a
constructor and a destructor that print, so the objects need dynamic initialisation and
`__tlv_atexit`), and reaches the other unit's through `extern thread_local` (the other
unit's exported thread wrapper `__ZTW...`).  Unit 0 also defines a constant-initialised
`thread_local int lh_count` (in __thread_data, where the objects live in __thread_bss), and
either unit may define a static `Noisy` (a `__mod_init_func` constructor and a
`__cxa_atexit` destructor).  Blocks of steps run in order
on the main thread or on a new thread, joined at once; a step adds to one object's `n` and
prints it with the thread's incremented `lh_count`.

What clang-14 emits for it, and what the linker must get right: each unit's objects are
local TLV descriptors initialised together by the unit's `___tls_init` behind a one-byte
local `___tls_guard` (one per unit, of the same name), the destructor's address loaded
through the GOT (GOT_LOAD, relaxed to lea), `___dso_handle` (linker-defined, the header),
and calls to libdyld's `__tlv_atexit`, an import.

The model (`expected_output`), checked against the same source built natively by g++ (the
generator's own check; Itanium's rules are the same on both systems):
- a thread's first use of any object of a unit constructs all of that unit's objects, in
  declaration order (`+K n`), and registers their destructors;
- when the thread's start routine returns, its constructed objects are destroyed newest
  first (`~K n`);
- the static objects are built before main in link order (unit 0's first: each image's
  initialisers run in the order their sections were linked), destroyed in reverse;
- at exit (main returns `status`), the main thread's objects die the same way, before the
  static objects (`__tlv_atexit` handlers run before `atexit` ones: Libc's exit calls
  `_tlv_exit` first).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import strategies as st

INCLUDE = Path(__file__).resolve().parents[2] / "tests" / "macho_include"
# clang's triple and the linker's --target per arch (i386: 10.7, the first macOS with
# thread-local variables; chained fixups are x86-64 only)
TRIPLES = {"x86_64": "x86_64-apple-macosx10.15", "i386": "i386-apple-macosx10.7"}
TARGETS = {"x86_64": "macho-x86_64", "i386": "macho-i386"}
STATIC_KEY = 99  # unit u's static object prints key 99 - u


@dataclass(frozen=True)
class CxxObject:
    owner: int  # the unit (0 or 1) that defines it
    init: int  # its constructor's n


@dataclass(frozen=True)
class CxxStep:
    obj: int
    add: int


@dataclass(frozen=True)
class CxxBlock:
    owner: int  # the unit whose function runs the steps
    thread: bool  # on a new thread (pthread_create, joined at once)
    steps: tuple[CxxStep, ...]


@dataclass(frozen=True)
class CxxTlvCase:
    objects: tuple[CxxObject, ...]
    count: int  # lh_count's initial value on every thread
    statics: tuple[int, ...]  # the units (ascending) that define a static Noisy
    blocks: tuple[CxxBlock, ...]
    status: int  # main's return value
    optimize: int  # clang's -O level (0 or 1: different code shapes)
    chained: bool  # linked with chained fixups, else dyld-info opcodes
    arch: str = "x86_64"


@st.composite
def cxx_tlv_cases(draw: st.DrawFn) -> CxxTlvCase:
    objects = tuple(CxxObject(draw(st.integers(0, 1)), draw(st.integers(0, 999)))
                    for _ in range(draw(st.integers(1, 4))))
    step = st.builds(CxxStep, st.integers(0, len(objects) - 1), st.integers(1, 99))
    block = st.builds(CxxBlock, st.integers(0, 1), st.booleans(),
                      st.lists(step, min_size=1, max_size=4).map(tuple))
    blocks = tuple(draw(st.lists(block, min_size=1, max_size=4)))
    statics = tuple(u for u in (0, 1) if draw(st.booleans()))
    arch = draw(st.sampled_from(tuple(TRIPLES)))
    return CxxTlvCase(objects, draw(st.integers(0, 99)), statics, blocks,
                      draw(st.integers(0, 9)), draw(st.sampled_from((0, 1))),
                      arch == "x86_64" and draw(st.booleans()), arch)


# Every flavour: objects in both units reached from both, a thread that builds its own
# copies (and destroys them when it returns), the main thread's copies dying at exit
# before the static objects of both units (built in link order), both -O levels and both
# fixup encodings between the samples.
_SAMPLES_X86_64 = (
    CxxTlvCase((CxxObject(0, 10), CxxObject(1, 20), CxxObject(0, 30)), 5, (0, 1),
               (CxxBlock(1, False, (CxxStep(0, 1), CxxStep(1, 2))),
                CxxBlock(0, True, (CxxStep(1, 3), CxxStep(2, 4))),
                CxxBlock(1, True, (CxxStep(2, 5),)),
                CxxBlock(0, False, (CxxStep(2, 6), CxxStep(0, 7)))), 3, 1, False),
    CxxTlvCase((CxxObject(1, 7), CxxObject(1, 8)), 0, (),
               (CxxBlock(0, True, (CxxStep(1, 1),)), CxxBlock(0, False, (CxxStep(0, 2),))),
               0, 0, True),
)
# The first sample again for i386: cdecl calls of __tlv_atexit and the per-unit
# ___tls_init, GENERIC_RELOC_TLV descriptors, dyld-info opcodes.
SAMPLES: tuple[CxxTlvCase, ...] = (*_SAMPLES_X86_64, replace(_SAMPLES_X86_64[0], arch="i386"))


def expected_output(case: CxxTlvCase) -> tuple[str, int]:
    """(stdout, exit status) as the module's rules say."""
    lines = [f"+{STATIC_KEY - u} 0" for u in case.statics]

    def run_block(block: CxxBlock, state: dict[int, int], order: list[int],
                  count: list[int]) -> None:
        for s in block.steps:
            if s.obj not in state:  # the unit's ___tls_init: all its objects, in order
                unit = case.objects[s.obj].owner
                for k, o in enumerate(case.objects):
                    if o.owner == unit:
                        state[k] = o.init
                        order.append(k)
                        lines.append(f"+{k} {o.init}")
            state[s.obj] += s.add
            count[0] += 1
            lines.append(f"t{s.obj} {state[s.obj]} {count[0]}")

    def die(state: dict[int, int], order: list[int]) -> None:
        lines.extend(f"~{k} {state[k]}" for k in reversed(order))

    main_state: dict[int, int] = {}
    main_order: list[int] = []
    main_count = [case.count]
    for block in case.blocks:
        if block.thread:
            state: dict[int, int] = {}
            order: list[int] = []
            run_block(block, state, order, [case.count])
            die(state, order)
        else:
            run_block(block, main_state, main_order, main_count)
    die(main_state, main_order)
    lines.extend(f"~{STATIC_KEY - u} 0" for u in reversed(case.statics))
    return "".join(line + "\n" for line in lines), case.status


def describe(case: CxxTlvCase) -> set[str]:
    labels = {"tlv:cxx", "tlv:cxx:destructors", f"tlv:cxx:{case.arch}"}
    if case.arch == "i386" and any(b.thread for b in case.blocks):
        labels.add("tlv:cxx:i386:thread")
    if any(b.thread for b in case.blocks):
        labels.add("tlv:cxx:thread")
    if any(not b.thread for b in case.blocks):
        labels.add("tlv:cxx:main_thread_at_exit")
    if any(case.objects[s.obj].owner != b.owner for b in case.blocks for s in b.steps):
        labels.add("tlv:cxx:other_unit")
    if len({o.owner for o in case.objects}) == 2:
        labels.add("tlv:cxx:two_guards")  # two local ___tls_guard of one name
    if case.statics:
        labels.add("tlv:cxx:before_static")
    if len(case.statics) == 2:
        labels.add("tlv:cxx:statics_in_link_order")
    labels.add("fixups:chained" if case.chained else "tlv:cxx:opcodes")
    return labels


# --- C++ source --------------------------------------------------------------------

_HEAD = """extern "C" int printf(const char *, ...);
#include <pthread.h>
struct Noisy { int k, n; Noisy(int k_, int n_); ~Noisy(); };
extern thread_local int lh_count;
"""


def sources(case: CxxTlvCase) -> list[str]:
    """The two units' C++ text."""
    texts = []
    for unit in (0, 1):
        lines = [_HEAD]
        if unit == 0:
            lines += [("Noisy::Noisy(int k_, int n_) : k(k_), n(n_) "
                       '{ printf("+%d %d\\n", k, n); }'),
                      'Noisy::~Noisy() { printf("~%d %d\\n", k, n); }',
                      f"thread_local int lh_count = {case.count};"]
        if unit in case.statics:
            lines.append(f"static Noisy lh_static({STATIC_KEY - unit}, 0);")
        for k, o in enumerate(case.objects):
            lines.append(f"thread_local Noisy lh_t{k}({k}, {o.init});" if o.owner == unit
                         else f"extern thread_local Noisy lh_t{k};")
        lines.append("static void step(Noisy &o, int add) "
                     '{ o.n += add; printf("t%d %d %d\\n", o.k, o.n, ++lh_count); }')
        for n, block in enumerate(case.blocks):
            if block.owner == unit:
                body = " ".join(f"step(lh_t{s.obj}, {s.add});" for s in block.steps)
                lines.append(f"void *lh_block{n}(void *) {{ {body} return 0; }}")
            else:
                lines.append(f"void *lh_block{n}(void *);")
        if unit == 0:
            lines.append("int main() {")
            lines.append("    pthread_t t;")
            for n, block in enumerate(case.blocks):
                lines.append(f"    pthread_create(&t, 0, lh_block{n}, 0); pthread_join(t, 0);"
                             if block.thread else f"    lh_block{n}(0);")
            lines.append(f"    return {case.status};")
            lines.append("}")
        texts.append("\n".join(lines) + "\n")
    return texts


def write_objects(case: CxxTlvCase, directory: Path) -> list[Path]:
    """The two units compiled by clang++-14 for macOS on the case's arch (no exceptions:
    the program needs no C++ runtime library, only libSystem)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for n, text in enumerate(sources(case)):
        src, obj = directory / f"u{n}.cpp", directory / f"u{n}.o"
        src.write_text(text)
        subprocess.run(["clang++-14", f"--target={TRIPLES[case.arch]}", "-nostdlibinc", "-isystem",
                        str(INCLUDE), f"-O{case.optimize}", "-fno-exceptions", "-w", "-c",
                        "-o", str(obj), str(src)], check=True, capture_output=True)
        out.append(obj)
    return out


def native_output(case: CxxTlvCase, directory: Path) -> tuple[str, int]:
    """The same program built by g++ and run here: the model's reference."""
    directory.mkdir(parents=True, exist_ok=True)
    srcs = []
    for n, text in enumerate(sources(case)):
        src = directory / f"n{n}.cpp"
        src.write_text(text)
        srcs.append(str(src))
    exe = directory / "native"
    subprocess.run(["g++", "-w", "-pthread", "-O1", "-o", str(exe), *srcs], check=True,
                   capture_output=True)
    done = subprocess.run([str(exe)], capture_output=True, check=False, timeout=30, text=True)
    return done.stdout, done.returncode
