"""Invariants of the drawn programs that the properties rely on: every reference resolves,
calls only go to higher-ranked functions (so programs end), at most one strong definition
per name outside COMDAT groups, every body encodes, error models name their culprit."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings

from fuzz.assemble_x86 import assemble
from fuzz.lower_x86 import lower
from fuzz.model import Binding, Call, CallTable, ErrorKind, Load, Program, Store, walk_steps
from fuzz.semantics import Resolver, outcome
from fuzz.strategies import error_programs, programs

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def _strong_outside_groups(program: Program) -> Counter[str]:
    names: Counter[str] = Counter()
    for obj in program.objects:
        grouped = {s.name for s in obj.sections if s.group}
        names.update(f.name for f in obj.functions
                     if f.binding is Binding.GLOBAL and f.section not in grouped)
        names.update(d.name for d in obj.data if d.binding is Binding.GLOBAL and d.section)
    return names


@FAST
@given(programs())
def test_valid_programs_resolve_and_encode(program: Program) -> None:
    resolver = Resolver(program)
    for owner, obj in enumerate(program.objects):
        for fn in obj.functions:
            for step in walk_steps(fn.steps):
                name = (step.target if isinstance(step, Call) else
                        step.table if isinstance(step, CallTable) else step.item)
                assert isinstance(step, (Call, CallTable, Load, Store))
                resolver.resolve(owner, name)  # raises KeyError when undefined
    assert max(_strong_outside_groups(program).values(), default=0) <= 1
    images = [assemble(o) for o in lower(program)]  # asserts every IfOdd body fits rel8
    assert sum(len(s.relocs) for i in images for s in i.sections) > 0
    assert 0 <= outcome(program).status <= 255


@FAST
@given(error_programs())
def test_error_programs_name_their_culprit(program: Program) -> None:
    assert program.error is not None and program.culprit
    if program.error is ErrorKind.DUPLICATE:
        assert _strong_outside_groups(program)[program.culprit] == 2
    elif program.error is ErrorKind.UNDEFINED:
        try:
            Resolver(program).resolve(0, program.culprit)
            raise AssertionError("the culprit resolves")
        except KeyError:
            pass
    else:
        assert any(d.name == "lh_narrow" for o in program.objects for d in o.data)
