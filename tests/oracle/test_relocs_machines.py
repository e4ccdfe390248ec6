"""Inputs of machines the field oracle does not model are unreadable, named: among them
x32 (gcc -mx32: ELFCLASS32 with EM_X86_64), whose relocations are neither x86-64's nor
i386's, which the oracle once read as x86-64 and judged."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import link
from oracle.relocs import check_fields_report

SOURCE = "int g = 3;\nint get(void) { return g; }\nvoid _start(void) { for (;;) get(); }\n"


@pytest.mark.parametrize(("flags", "message"), [
    (["-mx32"], "unsupported machine 62 for ELFCLASS32"),
    (["-m32"], None),  # i386 as ELFCLASS32: read and judged
])
def test_machine_and_class_must_pair(tmp_path: Path, flags: list[str],
                                     message: str | None) -> None:
    (tmp_path / "a.c").write_text(SOURCE)
    obj = tmp_path / "a.o"
    subprocess.run(["gcc", "-c", "-O1", "-fno-pic", *flags, "-o", str(obj),
                    str(tmp_path / "a.c")], check=True)
    good = tmp_path / "good.o"
    subprocess.run(["gcc", "-c", "-O1", "-fno-pic", "-m32", "-o", str(good),
                    str(tmp_path / "a.c")], check=True)
    exe = tmp_path / "exe"
    link([str(good)], str(exe), target="elf32-i386")
    report = check_fields_report(str(exe), [str(obj)])
    if message is None:
        assert report.mismatches == () and report.checked > 0
    else:
        assert [m.kind for m in report.mismatches] == ["unreadable"]
        assert message in str(report.mismatches[0])
