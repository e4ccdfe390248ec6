"""A guest's output is held in the host's memory until the run ends (stdout and stderr
for the result, its files in the run's in-memory file system), so it counts against the
run's memory cap.  Before, a guest writing 1 MiB to stdout in a loop grew the host by
2 GiB under a 32 MiB cap and ran 8 s past a 3 s limit; one filling 64 MiB files one after
another grew it by 800 MB.  Now each run ends in a fault naming the cap, in time."""

from __future__ import annotations

import resource
import subprocess
import time
from pathlib import Path

import pytest

from oracle.emulate import run

CAP = 32 << 20
TIMEOUT = 3.0
GUESTS = {
    "stdout": """#include <string.h>
#include <unistd.h>
static char buf[1 << 20];
int main(void) { memset(buf, 'x', sizeof buf); for (;;) write(1, buf, sizeof buf); }
""",
    "files": """#include <stdio.h>
#include <string.h>
static char buf[1 << 20];
int main(void) {
  char name[32];
  memset(buf, 'x', sizeof buf);
  for (int i = 0;; i++) {
    sprintf(name, "f%d", i);
    FILE *f = fopen(name, "w");
    if (!f) return 2;
    for (int k = 0; k < 64; k++) fwrite(buf, 1, sizeof buf, f);
    fclose(f);
  }
}
""",
}


@pytest.mark.parametrize("kind", list(GUESTS))
def test_output_counts_against_the_memory_cap(kind: str, tmp_path: Path) -> None:
    (tmp_path / "g.c").write_text(GUESTS[kind])
    subprocess.run(["gcc", "-O1", "-o", str(tmp_path / "g"), str(tmp_path / "g.c")],
                   check=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    start = time.monotonic()
    result = run(tmp_path / "g", timeout=TIMEOUT, memory_cap=CAP)
    assert time.monotonic() - start < TIMEOUT + 1.0
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10) - peak
    assert grown < CAP + (64 << 20), f"grew {grown >> 20} MiB"
    assert result.exit_code is None
    assert any("output past the run's memory cap" in f.message for f in result.faults), \
        result.faults
    assert len(result.stdout) <= CAP


@pytest.mark.parametrize("vectors", [{"argv": ["x"] * 1_000_000},
                                     {"env": ["A=b"] * 1_000_000},
                                     {"argv": ["x", "a" * (16 << 20)]}])
def test_exec_strings_past_the_stack(vectors: dict[str, list[str]], tmp_path: Path) -> None:
    """A million arguments took 193 s to lay out on the stack (a list insert and a memory
    write per string) under a 3 s limit; strings past a quarter of the stack are now
    refused first, as execve refuses them (E2BIG), and the rest are written as one block."""
    (tmp_path / "g.c").write_text("int main(int argc, char **argv) { return argc & 0x7f; }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "g"), str(tmp_path / "g.c")], check=True)
    start = time.monotonic()
    result = run(tmp_path / "g", timeout=TIMEOUT, memory_cap=CAP, **vectors)  # type: ignore[arg-type]
    assert time.monotonic() - start < TIMEOUT
    assert result.exit_code is None
    assert any("(E2BIG)" in f.message for f in result.faults), result.faults
    ok = run(tmp_path / "g", ["g", *["y"] * 2000], timeout=TIMEOUT, memory_cap=CAP)
    assert ok.exit_code == 2001 & 0x7F, ok.faults


def test_unicorn_out_of_host_memory_is_a_result(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A campaign worker under an address-space limit, after thousands of runs, saw
    Unicorn fail to map memory (UC_ERR_NOMEM) and the UcError escape oracle.run; the run
    now ends in a fault that says so (the inputs replayed clean in a fresh worker)."""
    import sys

    from unicorn import UC_ERR_NOMEM, UcError
    run_module = sys.modules["oracle.emulate.run"]  # the package's `run` is the function

    def exhausted(data: bytes, inv: object) -> None:
        raise UcError(UC_ERR_NOMEM)
    monkeypatch.setattr(run_module, "run_elf", exhausted)
    (tmp_path / "g.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "g"), str(tmp_path / "g.c")], check=True)
    result = run(tmp_path / "g", timeout=TIMEOUT, memory_cap=CAP)
    assert result.exit_code is None
    assert any("could not allocate host memory" in f.message for f in result.faults)
