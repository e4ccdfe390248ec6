"""Fixtures of the Darwin programs suite: a build directory shared by xdist workers.

pytest runs with --import-mode=importlib, which puts no test directory on sys.path; the helper
modules beside this file and the ELF suite's program_spec (tests/integration, reused as is)
are imported by plain name, so both directories are added here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for directory in (HERE, HERE.parent / "integration"):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))


@pytest.fixture(scope="session")
def darwin_build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every xdist worker of this session sees (the parent of their basetemps)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = root / "lh-darwin-programs"
    path.mkdir(exist_ok=True)
    return path
