"""End to end through the command line: a clang-14 -target i386-apple-macosx10.6 hello world
linked by `linkharness link --target macho-i386` (modern with LC_MAIN, modern below 10.8 with
LC_UNIXTHREAD and dyld info, and --macho-classic), then `linkharness check` clean,
`linkharness run` printing the same lazily and (through the API it calls) with binding at
load, and `linkharness fields` with 0 mismatches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.emulate import run
from oracle.emulate.macho import image as mi

INCLUDE = Path(__file__).parents[2] / "macho_include"
HELLO = r"""
#include <stdio.h>
#include <stdlib.h>
static const char *greeting = "hello from i386";
static void bye(void) { puts("bye"); }
int main(int argc, char **argv) {
    atexit(bye);
    printf("%s, %d args, last %s\n", greeting, argc, argv[argc - 1]);
    return 5;
}
"""
MODES = {
    "lc-main": [],
    "unixthread": ["-platform_version", "macos", "10.6", "10.6"],
    "classic": ["--macho-classic"],
}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oracle.cli", *args], capture_output=True,
                          text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def hello_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("i386cli")
    (out / "hello.c").write_text(HELLO)
    subprocess.run(["clang-14", "-target", "i386-apple-macosx10.6", "-nostdlibinc", "-isystem",
                    str(INCLUDE), "-O2", "-c", str(out / "hello.c"), "-o", str(out / "hello.o")],
                   check=True, capture_output=True)
    return out / "hello.o"


@pytest.mark.parametrize("mode", MODES)
def test_hello_through_the_cli(hello_object: Path, mode: str) -> None:
    exe = hello_object.with_name(f"hello.{mode}")
    linked = _cli("link", "--target", "macho-i386", *MODES[mode], "-o", str(exe),
                  str(hello_object), "-lSystem")
    assert linked.returncode == 0, linked.stderr
    img = mi.parse(exe.read_bytes())
    assert (img.word, img.cputype) == (4, mi.CPU_TYPE_I386)
    assert (img.main_entryoff is not None) == (mode == "lc-main")
    assert (img.dyld_info is not None) == (mode != "classic")
    checked = _cli("check", str(exe))
    assert checked.returncode == 0 and checked.stdout.startswith("ok"), checked.stdout
    expected = f"hello from i386, 1 args, last {exe}\nbye\n"
    ran = json.loads(_cli("run", "--bind", "lazy", "--json", str(exe)).stdout)
    assert (ran["faults"], ran["exit_code"], ran["stdout"]) == ([], 5, expected)
    now = run(exe, [str(exe)], bind="now")  # what `linkharness run --bind now` runs
    assert (now.faults, now.exit_code, now.stdout.decode()) == ([], 5, expected)
    fields = _cli("fields", str(exe), str(hello_object))
    assert fields.returncode == 0, fields.stdout
    assert " 0 mismatches" in fields.stdout.splitlines()[0]
