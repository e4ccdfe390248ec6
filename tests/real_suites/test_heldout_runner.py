"""The held-out programs runner's own judgement, on small programs of ours: a program that
prints and exits the same under the emulator is "same", one whose output differs is
"differs" with the first difference named, one calling a function the emulator lacks is
a "fault" naming it, and one gcc cannot build is "not-built"."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heldout_programs import Outcome, Ran, first_difference, judge, table
from heldout_sources import Program, compile_sources

SOURCES = {
    "echo": '#include <stdio.h>\nint main(int c, char **v) { char b[64]; int n = 0;'
            ' while (fgets(b, sizeof b, stdin)) n++; printf("%s %d\\n", v[1], n);'
            ' fputs("err\\n", stderr); return 3; }\n',
    "pid": '#include <stdio.h>\n#include <unistd.h>\nint main(void) {'
           ' printf("pid %d\\n", (int)getpid()); return 0; }\n',
    "lacking": '#include <stdlib.h>\nint main(void) { double l[3];'
               ' return getloadavg(l, 3); }\n',
    "broken": "int main(void) { return missing_function(); }\n",
}


def program(tmp_path: Path, name: str, args: tuple[str, ...] = ()) -> Program:
    source = tmp_path / f"{name}.c"
    source.write_text(SOURCES[name])
    return Program("ours", name, compile_sources([source], ["-O1", "-w"]), args=args)


@pytest.mark.parametrize("variant", ["pie-lazy", "nopie-now"])
def test_a_program_that_behaves_the_same_is_same(tmp_path: Path, variant: str) -> None:
    echo = program(tmp_path, "echo", args=("word",))
    outcome = judge(echo, "x86_64", variant, tmp_path, b"one\ntwo\n")
    assert (outcome.status, outcome.detail) == ("same", "")


def test_a_different_output_is_named(tmp_path: Path) -> None:
    outcome = judge(program(tmp_path, "pid"), "i386", "pie-lazy", tmp_path, b"")
    assert outcome.status == "differs" and outcome.detail.startswith("stdout at byte 4:")


def test_a_missing_function_is_a_fault_naming_it(tmp_path: Path) -> None:
    outcome = judge(program(tmp_path, "lacking"), "x86_64", "nopie-lazy", tmp_path, b"")
    assert outcome.status == "fault" and "getloadavg" in outcome.detail


def test_a_program_gcc_cannot_link_is_not_built(tmp_path: Path) -> None:
    outcome = judge(program(tmp_path, "broken"), "x86_64", "pie-lazy", tmp_path, b"")
    assert outcome.status == "not-built"


def test_first_difference_and_the_table() -> None:
    assert first_difference(Ran(b"a", b"", 0), Ran(b"a", b"", 1)) == \
        "exit_code: native 0, emulated 1"
    assert first_difference(Ran(b"a", b"x", 0), Ran(b"a", b"y", 0)).startswith("stderr at byte 0")
    assert first_difference(Ran(b"ab", b"", 0), Ran(b"ab", b"", 0)) == ""
    text = table([Outcome("s", "p", "x86_64", "pie-lazy", "same"),
                  Outcome("s", "q", "x86_64", "pie-lazy", "fault")])
    assert "| s | x86_64 | pie-lazy | 1 | 0 | 1 | 0 | 0 |" in text
    assert "| all |  |  | 1 | 0 | 1 | 0 | 0 |" in text
