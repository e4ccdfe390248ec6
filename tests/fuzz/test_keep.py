"""A kept failure is a valid corpus case that replays: the sample program saved through
fuzz.keep, read back by oracle.corpus, replayed with GNU ld; an error model replays as an
expected link error."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.keep import kept_on_failure, save_case
from fuzz.libtrace import build_libraries
from fuzz.model import ErrorKind
from fuzz.pipeline import libraries, write_objects
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from oracle.corpus import load_case, replay_case


@pytest.fixture(scope="module")
def lib_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("lt")
    build_libraries(directory)
    return directory


def test_a_saved_example_replays_with_its_expected_trace(tmp_path: Path, lib_dir: Path) -> None:
    objs = write_objects(SAMPLE, tmp_path / "objs")
    path = save_case(tmp_path / "corpus", "sample", SAMPLE, objs, libraries(SAMPLE, lib_dir),
                     "nothing yet")
    case = load_case(path)
    assert case.expect.exit_code == outcome(SAMPLE).status
    assert case.expect.trace is not None and len(case.expect.trace) == len(outcome(SAMPLE).trace)
    assert (path / "case.s").read_text().count(".globl lh_main") == 1
    result = replay_case(case, "bfd")
    assert result.passed, result


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
    from dataclasses import replace

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
