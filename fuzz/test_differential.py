"""Property (b), differential: the same objects through GNU ld, gold, lld and mold; every
output runs under the emulator with the model's trace and exit status.  linkharness's own
output (objects in a drawn order, -z now or not, SysV/GNU/both hash tables) also runs
natively against the real libtrace libraries, lazily and with LD_BIND_NOW.  A reference linker that rejects a valid model is a generator bug."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz import judge
from fuzz.coverage import record
from fuzz.keep import kept_on_failure
from fuzz.model import Program
from fuzz.pipeline import (
    REFERENCE_LINKERS,
    LinkOptions,
    libraries,
    link_linkharness,
    link_options,
    link_with,
    write_objects,
)
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from fuzz.strategies import programs


@example(case=(SAMPLE, LinkOptions()))
@given(case=programs().flatmap(lambda p: st.tuples(st.just(p), link_options(
    len(p.objects)))))
def test_reference_linkers_and_native_run_agree_with_the_model(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory,
    case: tuple[Program, LinkOptions],
) -> None:
    program, options = case
    record(program)
    expected = outcome(program)
    work = tmp_path_factory.mktemp("diff")
    objs = write_objects(program, work)
    libs = libraries(program, libtrace_dir)
    problems: list[str] = []
    for linker in REFERENCE_LINKERS:
        exe = work / f"{linker}.out"
        linked = link_with(linker, objs, libs, exe)
        assert linked.ok, f"generator bug: {linker} rejects a valid model: {linked.stderr}"
        problems += [f"{linker}: {p}" for p in judge.emulated(exe, expected, libtrace_dir,
                                                               "lazy")]
    assert not problems, "oracle or generator bug:\n" + "\n".join(problems)
    exe = work / "linkharness.out"
    with kept_on_failure("differential", program, options.ordered(objs), libs,
                         options.bind_now, options=options):
        link_linkharness(objs, libs, exe, options)
        problems = [*judge.native(exe, expected, libtrace_dir),
                    *judge.native(exe, expected, libtrace_dir, bind_now=True)]
        assert not problems, "linkharness: " + "\n".join(problems)
