"""linker/errors.py: the one-line message and the command-line error reporting."""

from __future__ import annotations

import pytest

from linker.errors import LinkError, run_reporting_errors


@pytest.mark.parametrize(("kw", "text"), [
    ({}, "broken"),
    ({"file": "a.o"}, "a.o: broken"),
    ({"file": "a.o", "section": ".text"}, "a.o: section .text: broken"),
    ({"file": "a.o", "section": ".text", "offset": 0x1c, "symbol": "printf"},
     "a.o: section .text+0x1c: symbol printf: broken"),
    ({"file": "a.o", "offset": 0}, "a.o: offset 0x0: broken"),
    ({"symbol": "f"}, "symbol f: broken"),
])
def test_message_names_where_then_the_rule(kw: dict[str, object], text: str) -> None:
    e = LinkError("broken", **kw)  # type: ignore[arg-type]
    assert str(e) == text and e.rule == "broken"


def test_fields_kept() -> None:
    e = LinkError("r", file="f", section="s", offset=1, symbol="y")
    assert (e.file, e.section, e.offset, e.symbol) == ("f", "s", 1, "y")


def test_success_is_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_reporting_errors(lambda: None) == 0
    assert capsys.readouterr().err == ""


def test_link_error_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> None:
        raise LinkError("no input files")

    assert run_reporting_errors(fail) == 1
    assert capsys.readouterr().err == "linkharness: error: no input files\n"


def test_memory_error(capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> None:
        raise MemoryError

    assert run_reporting_errors(fail) == 1
    assert capsys.readouterr().err == "linkharness: error: out of memory\n"


def test_internal_error_one_line_unless_asked(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def bug() -> None:
        raise KeyError("x")

    monkeypatch.delenv("LINKHARNESS_TRACEBACK", raising=False)
    assert run_reporting_errors(bug) == 1
    err = capsys.readouterr().err
    assert err == ("linkharness: internal error: KeyError: 'x' "
                   "(set LINKHARNESS_TRACEBACK=1 for the trace)\n")
    monkeypatch.setenv("LINKHARNESS_TRACEBACK", "1")
    assert run_reporting_errors(bug) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("linkharness: internal error: KeyError: 'x' "
                        "(set LINKHARNESS_TRACEBACK=1 for the trace)\n")
