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


def test_recycling_dirs_number_names_and_remove_the_oldest_trees(tmp_path: Path) -> None:
    dirs = scratch.RecyclingDirs(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept").write_text("x")
    made = []
    for _ in range(scratch.RecyclingDirs.KEEP + 2):
        path = dirs.mktemp("lh")
        (path / "sub").mkdir()
        (path / "sub" / "o0.o").write_bytes(b"o")
        (path / "a.out").write_bytes(b"a")
        (path / "link").symlink_to(outside, target_is_directory=True)
        made.append(path)
    assert [p.name for p in made[:3]] == ["lh-1", "lh-2", "lh-3"]
    assert not made[0].exists() and not made[1].exists()  # the two oldest went
    assert all(p.is_dir() for p in made[2:])
    assert (outside / "kept").read_text() == "x"  # a link is removed, not followed


def test_a_numbered_name_already_taken_falls_back_to_a_fresh_one(tmp_path: Path) -> None:
    dirs = scratch.RecyclingDirs(tmp_path)
    (tmp_path / "w-1").mkdir()
    path = dirs.mktemp("w")
    assert path.is_dir() and path != tmp_path / "w-1" and path.name.startswith("w-")
