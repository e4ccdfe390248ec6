"""The module model's own rules (fuzz.modules): ELF lookup as glibc does it, worked out by
hand on small programs, and the generator's promises (every reference it writes binds,
calls only go down in rank, libraries link only later libraries)."""

from __future__ import annotations

from hypothesis import given, settings

from fuzz.modules import (
    DATA,
    FUNCTION,
    Definition,
    ModuleProgram,
    Term,
    outcome,
    programs,
    referable,
    resolve,
)
from fuzz.modules_build import object_sources
from fuzz.modules_samples import SAMPLE, SAMPLE_PIC


def _program(*defs: Definition, main: tuple[Term, ...] = (), libraries: int = 2,
             exe_needs: tuple[int, ...] = (1, 2)) -> ModuleProgram:
    return ModuleProgram(libraries, (1,) * (libraries + 1), exe_needs,
                         tuple(() for _ in range(libraries)), defs, main)


def test_the_executable_interposes_and_scope_order_decides_between_libraries() -> None:
    p = _program(Definition("f0", FUNCTION, 1, 0), Definition("f0", FUNCTION, 2, 0),
                 exe_needs=(2, 1))
    assert resolve(p, 1, "f0") == 2  # libm2 comes first in the executable's DT_NEEDED
    p = _program(Definition("f0", FUNCTION, 1, 0), Definition("f0", FUNCTION, 0, 0))
    assert resolve(p, 1, "f0") == 0  # the library's own call reaches the executable's


def test_protected_and_hidden_bind_their_own_module() -> None:
    p = _program(Definition("f0", FUNCTION, 1, 0, "protected"), Definition("f0", FUNCTION, 0, 0),
                 Definition("d0", DATA, 2, 0, "hidden", words=(1,)),
                 Definition("d0", DATA, 1, 0, words=(2,)))
    assert resolve(p, 1, "f0") == 1 and resolve(p, 2, "f0") == 0
    assert resolve(p, 2, "d0") == 2 and resolve(p, 0, "d0") == 1  # hidden: not exported


def test_a_library_may_not_refer_to_a_name_the_executable_hides() -> None:
    p = _program(Definition("d0", DATA, 0, 0, "hidden", words=(1,)),
                 Definition("d0", DATA, 2, 0, words=(2,)))
    defs = p.defined()
    assert referable(p, 1, "d0", defs) is None  # GNU ld: "hidden symbol referenced by DSO"
    assert referable(p, 0, "d0", defs) is defs[0, "d0"]


def test_data_has_one_instance_whatever_reaches_it() -> None:
    # the executable stores into libm1's array; libm1's function reads it back
    p = _program(Definition("d0", DATA, 1, 0, words=(5,)),
                 Definition("f0", FUNCTION, 1, 0, seed=1, body=(Term("load", "d0", 0),)),
                 main=(Term("load", "d0", 0), Term("store", "d0", 0), Term("call", "f0")))
    reported, status = outcome(p)
    acc1 = 5
    acc2 = (acc1 * 31 + (31 + acc1)) & 0xFFFFFFFF
    assert reported == (acc1, acc1, acc2) and status == acc2 & 0xFF


def test_the_samples_are_worked_out() -> None:
    assert len(outcome(SAMPLE)[0]) == len(SAMPLE.main)
    assert outcome(SAMPLE_PIC)[0][:len(SAMPLE.main)] == outcome(SAMPLE)[0]


@settings(max_examples=30, derandomize=True, deadline=None, database=None)
@given(programs())
def test_drawn_programs_keep_the_generators_promises(program: ModuleProgram) -> None:
    defs = program.defined()
    for d in program.definitions:
        for t in d.body:
            bound = referable(program, d.module, t.name, defs)
            assert bound is not None
            if t.kind == "call":
                assert bound.rank < d.rank
    for t in program.main:
        assert referable(program, 0, t.name, defs) is not None
    for lib, needs in enumerate(program.lib_needs, start=1):
        assert all(n > lib for n in needs)
    outcome(program)  # terminates, every binding found
    for module in range(program.libraries + 1):
        assert len(object_sources(program, module, m32=False)) == program.objects[module]
