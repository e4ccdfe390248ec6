"""A hand-made module program with every flavour fuzz.modules draws, which the shared-output
property and the harness-power test always judge (so what they catch does not hang on
what Hypothesis draws on a given day).

Its executable and two libraries (libm1 links libm2) meet in every way the model knows:
- f0 is defined by libm2 and interposed by the executable: libm1 calls the executable's;
- f1 is protected in libm1 and defined by the executable too: each calls its own;
- f2 is hidden in libm1 and default in libm2: libm1 calls its own, the rest libm2's;
- f4 is protected in libm2 and called by the executable: exported, but libm2's own view;
- d0 (libm1's array) is read and written by the executable (a COPY relocation) and by
  libm1 and libm2 through their GOTs, which must all reach the one copy;
- d1 is hidden in libm2 and defined by the executable: two arrays, one name;
- t0 is libm1's thread-local array (general dynamic in libm1, initial exec in the
  executable), t1 libm2's hidden one (local dynamic), t2 the executable's, which libm2
  reaches by general dynamic (DTPMOD against the executable's module);
- p0 (in .data.rel.ro) and p1 (in .data) point at functions, q0 and q1 at array words.
"""

from __future__ import annotations

from dataclasses import replace

from .modules import DATA, DPTR, FPTR, FUNCTION, TLS, Definition, ModuleProgram, Term

_DEFS = (
    Definition("f0", FUNCTION, 2, 0, seed=0x11,
               body=(Term("load", "d1", 0), Term("tload", "t1", 1))),
    Definition("f0", FUNCTION, 0, 1, seed=0x22, body=(Term("tload", "t2", 0),)),
    Definition("f1", FUNCTION, 1, 1, "protected", seed=0x33,
               body=(Term("call", "f0"), Term("load", "d0", 1))),
    Definition("f1", FUNCTION, 0, 0, seed=0x44, body=(Term("call", "f0"),)),
    Definition("f2", FUNCTION, 1, 1, "hidden", seed=0x55,
               body=(Term("call", "f1"), Term("tload", "t0", 1), Term("tstore", "t0", 1))),
    Definition("f2", FUNCTION, 2, 0, seed=0x66,
               body=(Term("tload", "t2", 0), Term("store", "d0", 0), Term("tstore", "t1", 0))),
    Definition("f4", FUNCTION, 2, 0, "protected", seed=0x88,
               body=(Term("call", "f0"), Term("call", "f2"))),
    Definition("f3", FUNCTION, 1, 0, seed=0x77,
               body=(Term("call", "f2"), Term("call_ptr", "p0"), Term("load_ptr", "q0"),
                     Term("load", "d0", 0))),
    Definition("d0", DATA, 1, 0, words=(0x100, 0x200)),
    Definition("d1", DATA, 2, 0, "hidden", words=(0x300, 0x301)),
    Definition("d1", DATA, 0, 1, words=(0x400, 0x500)),
    Definition("t0", TLS, 1, 1, words=(0x600, 0x700)),
    Definition("t1", TLS, 2, 0, "hidden", words=(0, 0)),
    Definition("t2", TLS, 0, 0, words=(0x800,)),
    Definition("p0", FPTR, 1, 0, target="f0", const=True),
    Definition("p1", FPTR, 2, 0, target="f2"),
    Definition("q0", DPTR, 2, 0, target="d0", offset=1, const=True),
    Definition("q1", DPTR, 0, 1, target="d1", offset=1),
)

_MAIN = (
    Term("call", "f3"), Term("call", "f1"), Term("load", "d0", 1), Term("store", "d0", 1),
    Term("call", "f3"), Term("tload", "t0", 0), Term("tstore", "t2", 0), Term("call", "f2"),
    Term("call_ptr", "p1"), Term("load_ptr", "q1"), Term("load_ptr", "q0"),
    Term("tload", "t2", 0), Term("call", "f0"), Term("call", "f4"),
)

SAMPLE = ModuleProgram(libraries=2, objects=(2, 2, 1), exe_needs=(1, 2), lib_needs=((2,), ()),
                       definitions=_DEFS, main=_MAIN, exe_pic="pie")


def without_tls(program: ModuleProgram) -> ModuleProgram:
    """`program` with its thread-local arrays and every term reaching them left out."""
    tls = {d.name for d in program.definitions if d.kind == TLS}
    defs = tuple(replace(d, body=tuple(t for t in d.body if t.name not in tls))
                 for d in program.definitions if d.kind != TLS)
    return replace(program, definitions=defs,
                   main=tuple(t for t in program.main if t.name not in tls))


SAMPLE_NO_TLS = without_tls(SAMPLE)


# The same with -fPIC executable code and a hidden thread-local array of the executable's:
# the executable's GD and LD sequences, which its linker relaxes.
SAMPLE_PIC = replace(
    SAMPLE, exe_pic="pic",
    definitions=(*SAMPLE.definitions, Definition("t3", TLS, 0, 0, "hidden", words=(0x900,))),
    main=(*SAMPLE.main, Term("tload", "t3", 0), Term("tstore", "t3", 0), Term("tload", "t0", 1)))


# The same linked with dynamic lists (--dynamic-list in -shared): libm2 lists f0 and its
# pointers but not f5, which the executable also defines, so libm2's f6 calls the
# executable's f0 and its own f5; libm1 leaves its thread-local t0 out (general dynamic
# against its own module, while the executable's initial exec still finds the export).
SAMPLE_LISTED = replace(
    SAMPLE,
    definitions=(*SAMPLE.definitions,
                 Definition("f5", FUNCTION, 0, 0, seed=0xA5, body=(Term("load", "d1", 1),)),
                 Definition("f5", FUNCTION, 2, 0, seed=0xB5, body=(Term("call", "f2"),)),
                 Definition("f6", FUNCTION, 2, 0, seed=0xC6,
                            body=(Term("call", "f0"), Term("call", "f5")))),
    main=(*SAMPLE.main, Term("call", "f6"), Term("call", "f5")),
    dynamic_lists=(("d0", "f3", "p0"), ("f0", "f6", "p*", "q*")))


# SAMPLE_LISTED's program with libm2 linked -Bsymbolic-functions instead of its list: its
# f6 calls its own f0 and f5 (the executable defines both) and reads d2, which libm2 and
# the executable both define: the reference stays preemptible (-Bsymbolic-functions binds
# functions only), so it reads the executable's array.  libm1 is linked --default-symver:
# its exports are versioned libm1.so, which the executable's linker records as needed.
SAMPLE_SYMBOLIC = replace(
    SAMPLE_LISTED,
    definitions=tuple(
        replace(d, body=(*d.body, Term("load", "d2", 0))) if d.name == "f6" else d
        for d in SAMPLE_LISTED.definitions) + (Definition("d2", DATA, 2, 0, words=(0x77,)),
                                               Definition("d2", DATA, 0, 1, words=(0x88,))),
    dynamic_lists=(("d0", "f3", "p0"), None), symbolic_functions=(False, True),
    default_symver=(True, False))
