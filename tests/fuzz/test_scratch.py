"""fuzz/scratch.py: the fuzz scratch goes to a RAM file system only when it can hold and run
what the properties put there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fuzz import scratch


class _Fs:
    def __init__(self, flags: int, free: int) -> None:
        self.f_flag, self.f_bavail, self.f_frsize = flags, free // 4096, 4096


def test_env_names_the_parent_and_empty_means_default(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setenv(scratch.ENV, str(tmp_path))
    assert scratch.scratch_parent() == str(tmp_path)
    made = scratch.make_scratch("x-")
    assert made.parent == tmp_path and made.is_dir()
    monkeypatch.setenv(scratch.ENV, "")
    assert scratch.scratch_parent() is None


@pytest.mark.parametrize(("flags", "free", "usable"), [
    (0, 1 << 30, True),
    (os.ST_NOEXEC, 1 << 30, False),  # Docker's /dev/shm: the outputs could not run natively
    (os.ST_RDONLY, 1 << 30, False),
    (0, 64 << 20, False),  # Docker's default size: too small to share
])
def test_ram_dir_only_when_writable_executable_and_roomy(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flags: int, free: int,
        usable: bool) -> None:
    monkeypatch.delenv(scratch.ENV, raising=False)
    monkeypatch.setattr(scratch, "RAM_DIR", tmp_path)
    monkeypatch.setattr(scratch.os, "statvfs", lambda _: _Fs(flags, free))
    assert scratch.scratch_parent() == (str(tmp_path) if usable else None)


def test_missing_ram_dir_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(scratch.ENV, raising=False)
    monkeypatch.setattr(scratch, "RAM_DIR", tmp_path / "absent")
    assert scratch.scratch_parent() is None
