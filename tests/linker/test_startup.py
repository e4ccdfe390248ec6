"""A small link through the gcc shim imports only what a link needs (issue 15: start-up is
most of a small link's time).  Python reports every import it makes to stderr under
PYTHONPROFILEIMPORTTIME, which the shim passes through gcc's driver."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from linker import cli
from linker.arrays import distinct

# Each was once imported by a hello link, or would be an easy slip: the harness's own
# packages and their heavy dependencies, numpy's masked arrays (np.unique's first call),
# and standard modules a link does not need (temporary files, OpenSSL, JSON, tracebacks).
NOT_FOR_A_LINK = ("oracle", "fuzz", "elftools", "capstone", "unicorn", "hypothesis", "yaml",
                  "click", "argparse", "numpy.ma", "tempfile", "_hashlib", "json",
                  "traceback", "linker.macho", "linker.textmap", "linker.linkmap",
                  "linker.elf.relocatable")

HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # The direct process: what a link costs without the warm server (the first link, and
    # every link where none can run), whose imports PYTHONPROFILEIMPORTTIME reports.
    monkeypatch.setenv("LINKHARNESS_SERVER", "0")
    return tmp_path


def _imports(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_hello_through_the_shim_imports_only_what_a_link_needs(cache: Path) -> None:
    source = cache / "hello.c"
    source.write_text(HELLO)
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(["gcc", f"-B{cli.shim_dir()}", str(source), "-o",
                           str(cache / "hello")], capture_output=True, text=True, env=env,
                          check=False, cwd=cache)
    assert done.returncode == 0, done.stderr
    imported = _imports(done.stderr)
    assert "linker.elf.link" in imported and "numpy" in imported  # the report is complete
    unwanted = sorted(name for name in imported
                      if any(name == bad or name.startswith(bad + ".") for bad in NOT_FOR_A_LINK))
    assert unwanted == []
    run = subprocess.run([str(cache / "hello")], capture_output=True, text=True, check=False)
    assert run.stdout == "hello\n"


@pytest.mark.parametrize("values", [[], [7], [3, 1, 3, 2, 1], [-5, 2**40, -5, 0], list(range(50, 0, -3)) * 2])
def test_distinct_is_np_unique(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)
    assert distinct(array).tolist() == np.unique(array).tolist()
    assert distinct(array).dtype == array.dtype
