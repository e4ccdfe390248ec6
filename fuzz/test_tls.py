"""Thread-local variables, local exec, initial exec and the general- and local-dynamic
sequences an executable's linker relaxes (fuzz.tls): linkharness's output
passes oracle.check and the field oracle, exits 0 natively (lazy and LD_BIND_NOW) and under
the emulator; GNU ld's output of the same objects exits 0 natively (the generator checked
against the machine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import example, given

from fuzz import judge
from fuzz.coverage import record_labels
from fuzz.pipeline import DYNAMIC_LINKER
from fuzz.semantics import Outcome, TraceEntry
from fuzz.tls import (
    SAMPLE,
    TLS_GET_ADDR_LIBRARY,
    TRACE_FUNCTION,
    TlsCase,
    cases,
    describe,
    write_objects,
)
from linker import link
from oracle.native import run_native
from oracle.reference import link_reference

EXPECTED = Outcome((TraceEntry("libtrace1.so", TRACE_FUNCTION, (0,)),), 0)


def _status(exe: Path, lib_dir: Path, bind_now: bool) -> int:
    env = {"PATH": os.environ.get("PATH", ""), "LD_LIBRARY_PATH": str(lib_dir)}
    if bind_now:
        env["LD_BIND_NOW"] = "1"
    return run_native(str(exe), env=env, timeout=20).exit_code


@example(case=SAMPLE)
@given(case=cases())
def test_tls_local_and_initial_exec(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory, case: TlsCase,
) -> None:
    lib = str(libtrace_dir / "libtrace1.so")
    record_labels(describe(case))
    work = tmp_path_factory.mktemp("tls")
    objs = write_objects(case, work)
    ref = work / "bfd.out"
    # GNU ld wants __tls_get_addr defined (by ld.so) even where it relaxes every call to it
    linked = link_reference("bfd", [str(o) for o in objs], str(ref),
                            libs=[lib, TLS_GET_ADDR_LIBRARY])
    assert linked.ok, linked.stderr
    assert _status(ref, libtrace_dir, False) == 0, "generator bug: GNU ld's output fails"
    exe = work / "lh.out"
    link([*map(str, objs), lib, TLS_GET_ADDR_LIBRARY], exe, entry="_start",
         dynamic_linker=DYNAMIC_LINKER)
    problems = [*judge.structure(exe), *judge.fields(exe, objs),
                *judge.emulated(exe, EXPECTED, libtrace_dir, "lazy"),
                *judge.emulated(exe, EXPECTED, libtrace_dir, "now")]
    assert not problems, "\n".join(problems)
    for bind_now in (False, True):
        status = _status(exe, libtrace_dir, bind_now)
        assert status == 0, f"checks failed (mask {status:#x}), bind_now={bind_now}"
