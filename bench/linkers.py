"""The linkers compared: each is a command prefix that takes GNU ld's arguments.

linkharness runs through its gcc shim, as `gcc -B"$(linkharness ld-shim)"` runs it, made
with the project's venv (the interpreter running this benchmark when it is the venv's, else
.venv/bin/python next to bench/). The reference
linkers are the Debian 12 binaries; gold, lld and mold accept ld.bfd's spelling for every
argument the workloads use.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

LINKHARNESS = "linkharness"
LINKHARNESS_COLD = "linkharness-cold"
PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Linker:
    """A linker by the name the report uses and the command that runs it."""

    name: str
    command: tuple[str, ...]
    threads: str  # how it uses the 2 cores, for reading the table: "1" or "all"
    prepare: Callable[[], None] | None = None  # run before each link, untimed
    # linkharness through its warm server: the link runs in the server's child, whose CPU
    # time and peak RSS the shim reports (LINKHARNESS_SERVER_RUSAGE) to add to its own.
    server_usage: bool = False

    def available(self) -> bool:
        return shutil.which(self.command[0]) is not None


def project_python() -> str:
    """The venv's interpreter (where `linker` is installed), else the current one."""
    venv = PROJECT_DIR / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def linkharness_shim() -> str:
    """The `ld` that `gcc -B"$(linkharness ld-shim)"` runs (written on first use): the
    linker as a compiler driver starts it, which is what a small link's time is mostly."""
    done = subprocess.run([project_python(), "-c",
                           "from linker.cli import shim_dir; print(shim_dir())"],
                          capture_output=True, text=True, check=True, cwd=PROJECT_DIR)
    return str(Path(done.stdout.strip()) / "ld")


def project_commit() -> str:
    """The checkout's commit (with "+dirty" when linker/ has uncommitted changes)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(PROJECT_DIR), *args], capture_output=True,
                              text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "linker") else "")


def all_linkers() -> list[Linker]:
    """linkharness first (the baseline, through its warm link server), then GNU ld, gold,
    lld and mold, then linkharness's first link of a build (no server running yet:
    bench/link_server_control.py)."""
    from bench.link_server_control import ensure_server, stop_server

    shim = linkharness_shim()
    return [
        Linker(LINKHARNESS, (shim,), "1", prepare=partial(ensure_server, shim),
               server_usage=True),
        Linker("ld.bfd", ("ld.bfd",), "1"),
        Linker("gold", ("ld.gold",), "1"),  # gold threads only with --threads
        Linker("lld", ("ld.lld-14",), "all"),
        # --no-fork: by default mold links in a forked child and the parent exits before the
        # child has cleaned up, so wait4 would see neither the child's CPU time nor its RSS.
        Linker("mold", ("mold", "--no-fork"), "all"),
        # Last in a round: the server it starts is up by the next round's warm link.
        Linker(LINKHARNESS_COLD, (shim,), "1", prepare=partial(stop_server, shim)),
    ]


def select(names: list[str] | None) -> list[Linker]:
    """The linkers named (in the order given), or all; an unknown name is an error."""
    known = {linker.name: linker for linker in all_linkers()}
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown linker(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
