"""The project's own linker, driven by gcc through its `ld` shim, passes every rule: the
check the structural oracle exists for.  (Programs without TLS: the linker has none yet.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oracle.check import check

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int counter = 3;
const char *names[] = {"a", "b"};
int main(int argc, char **argv) {
    printf("%d %s %s\n", argc, argv[0], names[argc & 1]);
    char *p = malloc(10);
    strcpy(p, "x");
    counter += (int)strlen(p);
    free(p);
    puts("done");
    return counter > 100;
}
"""

VARIANTS = {"x64-lazy": (64, []), "x64-now": (64, ["-Wl,-z,now"]),
            "x32-lazy": (32, []), "x32-now": (32, ["-Wl,-z,now"])}


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    shim = subprocess.run([sys.executable, "-m", "oracle.cli", "ld-shim"], check=True,
                          capture_output=True, text=True).stdout.strip()
    root = tmp_path_factory.mktemp("linkharness-bins")
    src = root / "prog.c"
    src.write_text(SOURCE)
    out: dict[str, Path] = {}
    for name, (bits, flags) in VARIANTS.items():
        exe = root / name
        subprocess.run(["gcc", f"-m{bits}", "-O1", "-fno-pie", "-no-pie", "-B", shim, *flags,
                        str(src), "-o", str(exe)], check=True, capture_output=True)
        out[name] = exe
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_linkharness_output_is_clean(linked: dict[str, Path], variant: str) -> None:
    assert [str(v) for v in check(linked[variant])] == []


def test_the_shim_really_is_linkharness() -> None:
    # gcc silently falls back to the system ld if -B finds no `ld`: make sure it did not.
    shim = subprocess.run([sys.executable, "-m", "oracle.cli", "ld-shim"], check=True,
                          capture_output=True, text=True).stdout.strip()
    done = subprocess.run(["gcc", "-B", shim, "-Wl,--version"], check=False,
                          capture_output=True, text=True)
    assert "linkharness" in done.stdout + done.stderr
