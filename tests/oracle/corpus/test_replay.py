"""replay_case: passes what meets the expectation, and fails, saying why, whatever does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import linker
from oracle.corpus import CaseResult, add_case, default_corpus_dir, judges, load_case, replay_case
from oracle.corpus.judges import Observation, compare
from oracle.corpus.model import Expect, TraceCall
from oracle.emulate.result import Fault, RunResult, TraceEntry


def _replay(tmp_path: Path, inputs: list[Path], expect: dict[str, Any],
            linker_name: str = "linkharness", **kw: Any) -> CaseResult:
    case_dir = add_case(tmp_path / "corpus", inputs, {"entry": "_start"}, expect, "test",
                        "test", case_id="c", bind=["lazy"])
    return replay_case(load_case(case_dir), linker_name, tmp_path / "work", **kw)


@pytest.mark.parametrize("linker_name", ["linkharness", "bfd", "lld"])
def test_a_correct_case_passes_natively(objects: dict[str, Path], tmp_path: Path,
                                        linker_name: str) -> None:
    res = _replay(tmp_path, [objects["main"], objects["helper"]], {"exit_code": 42},
                  linker_name, judges=["native"])
    assert res.passed, res.details
    assert [(o.judge, o.bind, o.exit_code) for o in res.observations] == [("native", "lazy", 42)]
    assert (tmp_path / "work" / f"c.{linker_name}.out").is_file()


def test_a_wrong_exit_code_or_stdout_fails_and_says_so(objects: dict[str, Path],
                                                       tmp_path: Path) -> None:
    res = _replay(tmp_path, [objects["main"], objects["helper"]],
                  {"exit_code": 41, "stdout": "x"}, judges=["native"])
    assert res.status == "fail"
    assert res.details == ("native/lazy: exit code 42, expected 41",
                           "native/lazy: stdout differs at byte 0: got b'', expected b'x'")


def test_a_failed_link_of_a_good_case_is_a_failure(objects: dict[str, Path],
                                                   tmp_path: Path) -> None:
    res = _replay(tmp_path, [objects["main"]], {"exit_code": 42})
    assert res.status == "fail"
    assert res.details[0].startswith("link failed:") and "answer" in res.details[0]


def test_error_cases_need_a_matching_link_error(objects: dict[str, Path],
                                                tmp_path: Path) -> None:
    good = _replay(tmp_path / "a", [objects["undef"]], {"link_error": "nowhere_to_be_found"})
    assert good.passed
    wrong = _replay(tmp_path / "b", [objects["undef"]], {"link_error": "duplicate"})
    assert wrong.status == "fail" and "does not match /duplicate/" in wrong.details[0]
    links = _replay(tmp_path / "c", [objects["main"], objects["helper"]],
                    {"link_error": "anything"})
    assert links.status == "fail" and links.details[0].startswith("link succeeded")


def test_reference_linkers_only_need_to_refuse(objects: dict[str, Path], tmp_path: Path) -> None:
    res = _replay(tmp_path, [objects["undef"]], {"link_error": "not what ld says"}, "bfd")
    assert res.passed


def test_a_linker_crash_is_never_a_pass(objects: dict[str, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: Any, **kwargs: Any) -> None:
        raise IndexError("boom")

    monkeypatch.setattr(linker, "link", crash)
    res = _replay(tmp_path, [objects["undef"]], {"link_error": "boom"})
    assert res.status == "fail" and "linker crashed: IndexError: boom" in res.details[0]


def test_no_judge_means_an_error_not_a_pass(objects: dict[str, Path], tmp_path: Path) -> None:
    res = _replay(tmp_path, [objects["main"], objects["helper"]], {"exit_code": 42}, judges=[])
    assert res.status == "error" and not res.passed


def _fake_emulator(result: RunResult, calls: list[dict[str, Any]]) -> Any:
    def run(path: str, argv: Any = None, env: Any = None, *, bind: str = "lazy") -> RunResult:
        calls.append({"path": path, "bind": bind})
        return result
    return run


def test_the_emulator_judges_traces(objects: dict[str, Path], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    trace = [TraceEntry("libtrace1.so", "f_a1", (5,))]
    fake = _fake_emulator(RunResult(42, b"", b"", trace), calls)
    monkeypatch.setattr(judges, "emulator_run", lambda: fake)
    want = [{"library": "libtrace1.so", "symbol": "f_a1", "args": [5]}]
    res = _replay(tmp_path / "a", [objects["main"], objects["helper"]],
                  {"exit_code": 42, "trace": want}, judges=["emulator"])
    assert res.passed, res.details
    assert calls and calls[0]["bind"] == "lazy" and calls[0]["path"].endswith("c.linkharness.out")
    want[0]["args"] = [6]
    res = _replay(tmp_path / "b", [objects["main"], objects["helper"]],
                  {"exit_code": 42, "trace": want}, judges=["emulator"])
    assert res.details == (("emulator/lazy: trace[0] is libtrace1.so:f_a1(0x5), "
                           "expected libtrace1.so:f_a1(0x6)"),)


def test_an_emulator_fault_is_reported(objects: dict[str, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fault = Fault("unmapped-fetch", 0x401000, "puts@plt", "jumped nowhere")
    fake = _fake_emulator(RunResult(None, b"", b"", [], [fault]), [])
    monkeypatch.setattr(judges, "emulator_run", lambda: fake)
    res = _replay(tmp_path, [objects["main"], objects["helper"]], {"exit_code": 42},
                  judges=["emulator"])
    assert res.details == (("emulator/lazy: fault: unmapped-fetch at 0x401000 <puts@plt>: "
                           "jumped nowhere"),)


def test_trace_length_mismatch_and_unchecked_traces() -> None:
    want = Expect(exit_code=0, trace=(TraceCall("l", "f", ()), TraceCall("l", "g", ())))
    short = Observation("emulator", "now", 0, b"", (TraceCall("l", "f", ()),))
    assert compare(want, short) == ["emulator/now: trace has 1 calls, expected 2"]
    native = Observation("native", "now", 0, b"", None)
    assert compare(want, native) == []  # a native run cannot see the trace


def test_native_libtrace_lines_are_compared_as_the_trace(tmp_path: Path) -> None:
    seed = load_case(default_corpus_dir() / "asm-libtrace-imports")
    assert seed.expect.trace is not None
    calls = [c.to_json() for c in seed.expect.trace]
    calls[0]["args"] = [1, 3]  # the program really passes (1, 2)
    bad = add_case(tmp_path, seed.input_paths(), seed.link_args, {
        "exit_code": seed.expect.exit_code, "trace": calls}, "test", "test", case_id="t")
    res = replay_case(load_case(bad), "bfd", tmp_path / "work", judges=["native"], bind=["now"])
    assert res.details == (("native/now: trace[0] is libtrace1.so:lt1_f2_a2(0x1, 0x2), "
                           "expected libtrace1.so:lt1_f2_a2(0x1, 0x3)"),)


def test_a_bind_mode_given_to_replay_replaces_the_cases(objects: dict[str, Path],
                                                        tmp_path: Path) -> None:
    res = _replay(tmp_path, [objects["main"], objects["helper"]], {"exit_code": 42},
                  judges=["native"], bind=["now", "lazy"])
    assert res.passed
    assert [o.bind for o in res.observations] == ["now", "lazy"]
