"""`linkharness hunt` refuses a command line it cannot honour before it fuzzes anything:
a subject program that does not exist (it once 'found' one case per property, each the
program's failure to run), a non-positive or NaN budget (NaN was a traceback), an
unknown --allow rule (silently allowed nothing), a --dest that is a file (a traceback)."""

from __future__ import annotations

import pytest

from oracle.hunt.cli import main


@pytest.mark.parametrize(("args", "said"), [
    (["--subject", "cmd", "--subject-cmd", "/nonexistent/ld {args}"],
     "--subject-cmd: /nonexistent/ld: no such program"),
    (["--subject", "cmd", "--subject-cmd", "ld"], "must name a program and hold {args}"),
    (["--subject", "cmd", "--subject-cmd", '"ld {args}'], "No closing quotation"),
    (["--subject", "bfd", "--seconds", "nan"], "not a positive number of seconds: nan"),
    (["--subject", "bfd", "--seconds", "0"], "not a positive number of seconds: 0"),
    (["--subject", "bfd", "--allow", "ELF-NO-SUCH-RULE"], "no such checker rule"),
    (["--subject", "bfd", "--dest", "/dev/null"], "exists and is not a directory"),
])
def test_a_bad_command_line_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                            args: list[str], said: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and said in err
    assert "Traceback" not in err


def test_a_real_rule_may_be_allowed() -> None:
    from oracle.hunt.cli import _checker_rules

    assert {"ELF-ZERO-FILL", "ELF-SEG-ALIGN", "MACHO-ENTRY"} <= _checker_rules()
