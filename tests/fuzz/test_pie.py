"""fuzz/pie.py: `pie_form_legal` answers what `pie_legal(pie_form(...))` answers, without
making the PIE form, on the drawn programs and on the reach programs (weak references,
address bits and non-null tests, the forms PIE legality turns on)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from fuzz.model import (
    AddrNonNull,
    AddrVia,
    Binding,
    Function,
    ObjectModel,
    Program,
    Section,
    SectionKind,
)
from fuzz.pie import pie_form, pie_form_legal, pie_legal
from fuzz.strategies import programs
from fuzz.strategies_reach import reach_programs

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def _agree(program: Program) -> bool:
    legal = pie_legal(pie_form(program))
    assert pie_form_legal(program) == legal
    return legal


@FAST
@given(programs())
def test_drawn_programs(program: Program) -> None:
    _agree(program)


@FAST
@given(reach_programs())
def test_reach_programs(program: Program) -> None:
    _agree(program)


def test_a_test_of_a_weak_undefined_address_is_legal_only_through_the_got() -> None:
    for via in (AddrVia.ABS_S32, AddrVia.ABS_U32, AddrVia.PC_REL, AddrVia.GOT):
        main = Function("lh_main", Binding.GLOBAL, ".text", 16, 7,
                        (AddrNonNull("lh_nowhere", via),))
        program = Program((ObjectModel("o0", (Section(".text", SectionKind.TEXT, 16),),
                                       (main,), weak_refs=("lh_nowhere",)),), (1,))
        assert _agree(program) is (via is AddrVia.GOT)
        assert pie_legal(program) is (via is AddrVia.GOT)
