"""A kept failure is a valid corpus case that replays: the sample program saved through
fuzz.keep, read back by oracle.corpus, replayed with GNU ld; an error model replays as an
expected link error."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from fuzz.keep import kept_on_failure, save_case
from fuzz.libtrace import build_libraries
from fuzz.model import Const, ErrorKind, Program, Ref
from fuzz.pie import pie_form, pie_legal
from fuzz.pipeline import LinkOptions, libraries, write_objects
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from oracle.corpus import load_case, replay_case
from oracle.corpus.replay import NOT_APPLICABLE


@pytest.fixture(scope="module")
def lib_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lt")
    build_libraries(directory)
    return directory


@pytest.mark.parametrize("linker", ["bfd", "linkharness"])
def test_a_saved_example_replays_with_its_expected_trace(tmp_path: Path, lib_dir: Path,
                                                         linker: str) -> None:
    objs = write_objects(SAMPLE, tmp_path / "objs")
    path = save_case(tmp_path / "corpus", "sample", SAMPLE, objs, libraries(SAMPLE, lib_dir),
                     "nothing yet")
    case = load_case(path)
    assert case.expect.exit_code == outcome(SAMPLE).status
    assert case.expect.trace is not None and len(case.expect.trace) == len(outcome(SAMPLE).trace)
    assert (path / "case.s").read_text().count(".globl lh_main") == 1
    # saved without link options: a case as old cases are, with no option keys
    link_args = json.loads((path / "case.json").read_text())["link_args"]
    assert not {"pie", "hash_style", "ibt_plt", "emit_relocs"} & set(link_args)
    result = replay_case(case, linker)
    assert result.passed, result


def _pie_sample() -> Program:
    """SAMPLE made PIE-legal: its read-only pointer moved to .data, absolute accesses made
    pc-relative (fuzz.pie.pie_form), and with zeros for the 1- and 2-byte references to an
    absolute symbol, which bfd refuses in a PIE (R_X86_64_8 "recompile with -fPIE")."""
    o0, o1 = SAMPLE.objects
    data0 = tuple(replace(d, section=".data") if d.name == "lh_w1" else d for d in o0.data)
    data1 = tuple(replace(d, fields=tuple(Const(f.width, 0) if isinstance(f, Ref) and
                                          f.width < 8 else f for f in d.fields))
                  for d in o1.data)
    program = pie_form(replace(SAMPLE, objects=(replace(o0, data=data0),
                                                replace(o1, data=data1))))
    assert pie_legal(program)
    return program


def test_the_drawn_link_options_are_saved_and_replayed(tmp_path: Path, lib_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    program = _pie_sample()
    objs = write_objects(program, tmp_path / "objs")
    options = LinkOptions(pie=True, ibt_plt=True, hash_style="gnu")
    monkeypatch.setenv("FUZZ_KEEP", str(tmp_path / "corpus"))
    with pytest.raises(AssertionError), kept_on_failure(
            "opts", program, objs, libraries(program, lib_dir), options=options):
        raise AssertionError("failed only with -pie -z ibtplt")
    case = load_case(tmp_path / "corpus" / "fuzz-opts")
    args = case.link_args
    assert (args.pie, args.ibt_plt, args.hash_style, args.emit_relocs) == (True, True, "gnu",
                                                                          False)
    for linker in ("linkharness", "bfd"):
        result = replay_case(case, linker, tmp_path / "work")
        assert result.passed, result
        exe = tmp_path / "work" / f"fuzz-opts.{linker}.out"
        headers = subprocess.run(["readelf", "-hS", "-W", str(exe)], capture_output=True,
                                 text=True, check=True).stdout
        assert "DYN (" in headers, linker  # replayed as a PIE
        assert ".plt.sec" in headers, linker  # with the IBT PLT
    assert replay_case(case, "gold", tmp_path / "work").status == NOT_APPLICABLE


def test_a_failure_is_kept_only_when_asked(tmp_path: Path, lib_dir: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    objs = write_objects(SAMPLE, tmp_path / "objs")
    libs = libraries(SAMPLE, lib_dir)
    monkeypatch.delenv("FUZZ_KEEP", raising=False)
    with pytest.raises(AssertionError), kept_on_failure("quiet", SAMPLE, objs, libs):
        raise AssertionError("not kept")
    monkeypatch.setenv("FUZZ_KEEP", str(tmp_path / "corpus"))
    with pytest.raises(AssertionError), kept_on_failure("loud", SAMPLE, objs, libs):
        raise AssertionError("kept: the first line\nsecond line")
    assert [p.name for p in (tmp_path / "corpus").iterdir()] == ["fuzz-loud"]
    assert load_case(tmp_path / "corpus" / "fuzz-loud").caught == "kept: the first line"


def test_an_error_model_is_kept_as_an_expected_link_error(tmp_path: Path, lib_dir: Path) -> None:

    from fuzz.model import Call, CallVia, Function

    main = SAMPLE.objects[0].functions[0]
    broken_main = replace(main, steps=(*main.steps, Call("lh_missing", CallVia.PLT)))
    o0 = replace(SAMPLE.objects[0], functions=(broken_main, *SAMPLE.objects[0].functions[1:]))
    program = replace(SAMPLE, objects=(o0, *SAMPLE.objects[1:]), error=ErrorKind.UNDEFINED,
                      culprit="lh_missing")
    assert isinstance(broken_main, Function)
    objs = write_objects(program, tmp_path / "objs")
    path = save_case(tmp_path / "corpus", "err", program, objs, libraries(program, lib_dir),
                     "undefined")
    case = load_case(path)
    assert case.expect.link_error is not None and "lh_missing" in case.expect.link_error
    assert replay_case(case, "bfd").passed
