"""Fixtures for the emulator's tests: C programs built once per session by gcc for both
architectures and several linkers, and a native run to compare with."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"

# linker flavour -> gcc flags (the lld flavour adds -B to a directory holding `ld.lld`)
FLAVOURS: dict[str, list[str]] = {
    "gnu": ["-no-pie", "-fno-pie"],
    "gnu-now": ["-no-pie", "-fno-pie", "-Wl,-z,now"],
    "gnu-pie": ["-fpie", "-pie"],
    "lld": ["-no-pie", "-fno-pie", "-fuse-ld=lld"],
    "lld-pie": ["-fpie", "-pie", "-fuse-ld=lld"],
    "mold": ["-no-pie", "-fno-pie", "-fuse-ld=mold"],
    "gold": ["-no-pie", "-fno-pie", "-fuse-ld=gold"],
    "static": ["-static", "-no-pie", "-fno-pie"],
    "static-pie": ["-static-pie", "-fpie"],
    "static-pie-mold": ["-static-pie", "-fpie", "-fuse-ld=mold"],
    "relr": ["-fpie", "-pie", "-Wl,-z,pack-relative-relocs"],
    "relr-mold": ["-fpie", "-pie", "-fuse-ld=mold", "-Wl,-z,pack-relative-relocs"],
    "ibt": ["-no-pie", "-fno-pie", "-fcf-protection", "-Wl,-z,ibtplt"],
}

Builder = Callable[..., Path]


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Builder:
    """build(source, arch, flavour, extra=()) -> path of the linked executable (cached)."""
    out_dir = tmp_path_factory.mktemp("emulate-programs")
    lld_dir = out_dir / "lld-bin"
    lld_dir.mkdir()
    (lld_dir / "ld.lld").symlink_to("/usr/bin/ld.lld-14")
    cache: dict[tuple[str, str, str, tuple[str, ...]], Path] = {}

    def _build(source: str, arch: str = "x86-64", flavour: str = "gnu",
               extra: tuple[str, ...] = ()) -> Path:
        key = (source, arch, flavour, extra)
        if key not in cache:
            suffix = "-".join([Path(source).stem, arch, flavour, *(e.strip("-,=") for e in extra)])
            out = out_dir / suffix.replace("/", "_")
            src = PROGRAMS / source if (PROGRAMS / source).exists() else Path(source)
            cmd = ["gcc", "-O1", "-fno-stack-protector", *(["-m32"] if arch == "i386" else []),
                   *FLAVOURS[flavour], *(["-B", str(lld_dir)] if "lld" in flavour else []),
                   "-o", str(out), str(src), *extra, "-lm"]
            subprocess.run(cmd, check=True, capture_output=True)
            cache[key] = out
        return cache[key]

    return _build


def _native(path: Path, args: list[str] | tuple[str, ...] = (),
            env: dict[str, str] | None = None,
            ld_path: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """The same binary run natively (stdout and stderr are pipes, as in the emulator)."""
    run_env = dict(env or {})
    if ld_path:
        run_env["LD_LIBRARY_PATH"] = ld_path
    return subprocess.run([str(path), *args], env=run_env, capture_output=True, timeout=30,
                          check=False,
                          cwd=os.path.dirname(path))


@pytest.fixture(scope="session")
def native() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """native(path, args=(), env=None, ld_path=None) -> CompletedProcess."""
    return _native
