"""ld64.lld-14's outputs under the options builds pass: every judge takes them as valid
(no checker violation, no field mismatch) and the emulated dyld runs them as linked.  The
checker once called `-rename_section __TEXT __text __TEXT __code` output's entry point
outside the code (MACHO-ENTRY looked only at __text)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oracle import check_fields, run
from oracle.check import check

REPO = Path(__file__).resolve().parents[3]
LIBSYSTEM_TBD = REPO / "linker" / "macho" / "data" / "libSystem.tbd"
SOURCE = """#include <stdio.h>
__thread int tls = 5;
int zeroed[100];
int main(int argc, char **argv) { zeroed[3] = argc; printf("hi %d %d\\n", tls, zeroed[3]); }
"""
VARIANTS = [
    "-dead_strip", "-fixup_chains", "-bind_at_load", "-headerpad 0x10000", "-S", "-x",
    "-no_uuid", "-adhoc_codesign", "-no_adhoc_codesign", "-pagezero_size 0x1000",
    "-stack_size 0x1000000", "-export_dynamic", "-platform_version macos 12.0 12.0",
    "-platform_version macos 10.6 10.6", "-sectcreate __DATA __blob {source}",
    "-rename_section __TEXT __text __TEXT __code", "-segprot __DATA rwx rwx",
    "-undefined dynamic_lookup", "-flat_namespace", "-order_file /dev/null",
]


@pytest.fixture(scope="module")
def obj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("lld-variants")
    (tmp / "m.c").write_text(SOURCE)
    subprocess.run(["clang-14", "--target=x86_64-apple-macosx10.9", "-nostdlibinc", "-isystem",
                    str(REPO / "tests" / "macho_include"), "-w", "-O1", "-c",
                    str(tmp / "m.c"), "-o", str(tmp / "m.o")], check=True, capture_output=True)
    return tmp / "m.o"


@pytest.mark.parametrize("options", VARIANTS)
def test_every_judge_takes_the_variant_as_valid(obj: Path, tmp_path: Path, options: str) -> None:
    exe = tmp_path / "prog"
    words = options.format(source=obj.with_suffix(".c")).split()
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                    "11.0", *words, str(obj), str(LIBSYSTEM_TBD), "-o", str(exe)],
                   check=True, capture_output=True)
    assert [str(v) for v in check(exe)] == []
    assert [str(m) for m in check_fields(exe, [obj])] == []
    result = run(exe, [str(exe), "x"])
    assert result.faults == []
    assert (result.stdout, result.exit_code) == (b"hi 5 2\n", 0)
