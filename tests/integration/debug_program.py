"""The two-file -g program gdb is pointed at by test_debug_info.py (direct links) and
test_relocatable.py (after `link -r`): gdb stops at f.c:4, prints a local and a global, and
the backtrace names main at m.c:4."""

from __future__ import annotations

import re
from pathlib import Path

F_C = """int g = 42;
int f(int x) {
    int y = x * 2 + g;
    return y;
}
"""
M_C = """#include <stdio.h>
int f(int);
int main(void) {
    int r = f(3);
    printf("%d\\n", r);
    return 0;
}
"""
GDB = ("gdb", "-batch", "-nx", "-ex", "break f.c:4", "-ex", "run", "-ex", "print y",
       "-ex", "print g", "-ex", "bt")


def write_sources(directory: Path) -> None:
    """f.c and m.c in `directory`."""
    (directory / "f.c").write_text(F_C)
    (directory / "m.c").write_text(M_C)


def gdb_answers(gdb_output: str) -> list[str]:
    """gdb's answers (values and frames) from its output, return addresses taken out so
    that two links of the program compare equal."""
    lines = [ln for ln in gdb_output.splitlines() if ln.startswith(("$", "#", "Breakpoint 1,"))]
    return [re.sub(r"0x[0-9a-f]+ in ", "", ln) for ln in lines]


def assert_gdb_stopped_in_f(answers: list[str]) -> None:
    """The breakpoint hit f at f.c:4 with y == 48 and g == 42, called from main at m.c:4."""
    assert "Breakpoint 1, f (x=3) at f.c:4" in answers, answers
    assert "$1 = 48" in answers and "$2 = 42" in answers, answers
    assert any(re.fullmatch(r"#1 +main \(\) at m\.c:4", ln) for ln in answers), answers
