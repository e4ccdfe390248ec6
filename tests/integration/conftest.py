"""Fixtures of the integration suite: a build directory shared by xdist workers, the shim.

pytest runs with --import-mode=importlib, which puts no test directory on sys.path; the
helper modules beside this file (program_spec, program_build, bad_objects) are imported by
plain name, so this directory is added once, here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def shared_build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every xdist worker of this session sees (the parent of their basetemps)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = root / "lh-programs"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def linkharness_shim() -> str:
    """The directory whose `ld` runs linkharness, for `gcc -B`."""
    from linker import shim_dir

    return shim_dir()
