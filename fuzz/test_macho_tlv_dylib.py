"""A dylib's thread-local variables (fuzz/macho/tlv_dylib.py), x86-64 and i386: object 1 of a
drawn TLV case linked `-dylib` by linkharness (dyld-info opcodes; on x86-64 chained fixups
too), object 0 into the executable against it.  Both outputs pass oracle.check and the field
oracle, and under the emulated dyld (lazy and now), which gives each image its own key and
template, the trace is the model's (fuzz.macho.tlv.expected_trace).  A few ci examples per
arch; the mapped every-flavour sample always runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings

from fuzz.coverage import SESSION
from fuzz.macho import judge
from fuzz.macho import tlv as macho_tlv
from fuzz.macho.tbd import write_tbds
from fuzz.macho.tlv_dylib import (
    describe,
    dylib_aligned_bss,
    dylib_cases,
    dylib_sample,
    in_dylib,
    link_pair,
)
from oracle.emulate import run

CI_EXAMPLES = 3
LIBSYSTEM = "/usr/lib/libSystem.B.dylib"


def _budget() -> Callable[[Any], Any]:
    current = settings.default
    if current is not None and current.derandomize:
        return settings(current, max_examples=CI_EXAMPLES)
    return settings(current)


def dylib_problems(case: macho_tlv.TlvCase, work: Path) -> list[str]:
    """Every judge's problems with linkharness's dylib + executable of `case`."""
    objs = macho_tlv.write_objects(case, work / "objs")
    stubs = write_tbds(work / "stubs", (macho_tlv.TRACE_LIBRARY,))
    want = macho_tlv.expected_trace(case)
    found = []
    for chained in macho_tlv.encodings(case):
        how = f"{case.arch}, {'chained fixups' if chained else 'dyld-info opcodes'}"
        lib, exe = link_pair(objs, stubs, work / f"out-{chained}", case.arch, chained)
        found += [f"{how}: dylib {p}" for p in [*judge.structure(lib),
                                                *judge.fields(lib, objs[1:])]]
        found += [f"{how}: {p}" for p in [*judge.structure(exe), *judge.fields(exe, objs[:1])]]
        for bind in ("lazy", "now"):
            result = run(exe, bind=bind, library_path=[lib.parent])
            found += [f"{how}: emulated ({bind}): {f.describe()}" for f in result.faults]
            trace = tuple((t.library, t.symbol, tuple(t.args)) for t in result.trace
                          if t.library != LIBSYSTEM)
            if trace != want:
                found.append(f"{how}: emulated ({bind}): trace {trace} != model {want}")
            if result.exit_code != 0:
                found.append(f"{how}: emulated ({bind}): exit {result.exit_code} != 0")
    return found


def _judge(case: macho_tlv.TlvCase, work: Path) -> None:
    labels = describe(case)
    SESSION.update(labels)
    SESSION["examples"] += 1
    found = dylib_problems(case, work)
    assert not found, "\n".join(found)


@_budget()
@example(case=dylib_sample("x86_64"))
@example(case=dylib_aligned_bss("x86_64"))
@given(case=dylib_cases("x86_64"))
def test_x86_64_dylib_thread_locals_read_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: macho_tlv.TlvCase,
) -> None:
    _judge(case, tmp_path_factory.mktemp("tlv-dylib"))


@_budget()
@example(case=dylib_sample("i386"))
@example(case=in_dylib(macho_tlv.absolute_sample()))  # the executable's absolute loads of the dylib's
@example(case=dylib_aligned_bss("i386"))
@given(case=dylib_cases("i386"))
def test_i386_dylib_thread_locals_read_as_the_model_says(
    tmp_path_factory: pytest.TempPathFactory, case: macho_tlv.TlvCase,
) -> None:
    _judge(case, tmp_path_factory.mktemp("tlv-dylib32"))
