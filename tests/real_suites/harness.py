"""The machinery behind `projects.py`: build one project with one linker, run its tests, judge.

Every link of a build goes through an `ld` wrapper that a `gcc -B DIR` finds first (collect2
looks for `ld` in the -B directories).  The wrapper runs the real linker (GNU ld, or
linkharness's shim), and appends to a log the link's command line, its exit status and
everything the linker printed, stdout and stderr apart, so that a run can show (a) that every
link went through the linker named, by counting them against the GNU ld build, and (b)
whatever the linker said on a link that succeeded: a drop-in for GNU ld prints nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GNU_LD = "/usr/bin/ld.bfd"

# Debian bookworm's own build flags for a package that asks for all hardening
# (`DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags`), plus what build systems commonly
# add on top: --as-needed, and -pie, which gcc here already defaults to.
HARDENED_CFLAGS = (
    "-g -O2 -fstack-protector-strong -Wformat -Werror=format-security "
    "-fcf-protection -D_FORTIFY_SOURCE=2"
)
HARDENED_LDFLAGS = "-Wl,-z,relro -Wl,-z,now -Wl,--as-needed"

# The wrapper is sh, not Python, so that a GNU ld build pays nothing for being logged.  One
# `cat >> LOG` per link keeps records whole when make runs links in parallel.
_WRAPPER = """#!/bin/sh
out=$(mktemp) err=$(mktemp) rec=$(mktemp)
{real} "$@" >"$out" 2>"$err"
rc=$?
{{ printf 'LINK %s %s' "$rc" "$(pwd | sed 's/ /\\\\040/g')"; for a in "$@"; do printf ' %s' "$(printf '%s' "$a" | sed 's/ /\\\\040/g')"; done
  printf '\\n'; sed 's/^/OUT /' "$out"; sed 's/^/ERR /' "$err"; }} > "$rec"
cat "$rec" >> {log}
cat "$out"; cat "$err" >&2
rm -f "$out" "$err" "$rec"
exit $rc
"""


@dataclass
class Link:
    """One run of the linker as the wrapper recorded it."""

    status: int
    cwd: Path
    argv: list[str]
    printed: list[str] = field(default_factory=list)

    @property
    def output(self) -> str | None:
        for i, word in enumerate(self.argv):
            if word == "-o" and i + 1 < len(self.argv):
                return self.argv[i + 1]
            if word.startswith("-o") and len(word) > 2 and not word.startswith("-o-"):
                return word[2:]
        return None

    @property
    def is_probe(self) -> bool:
        """`ld --version`, `-v` and the like: a build system asking, not linking."""
        return self.output is None


def read_link_log(path: Path) -> list[Link]:
    links: list[Link] = []
    if not path.exists():
        return links
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("LINK "):
            words = line.split(" ")
            argv = [w.replace("\\040", " ") for w in words[2:]]
            links.append(Link(int(words[1]), Path(argv[0]), argv[1:]))
        elif links and line.startswith(("OUT ", "ERR ")):
            links[-1].printed.append(line)
    return links


def shim_directory() -> Path:
    """The directory `linkharness ld-shim` makes, whose `ld` runs this checkout's linker."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-m", "oracle.cli", "ld-shim"],
        env=env, check=True, capture_output=True, text=True, cwd=REPO,
    )
    return Path(out.stdout.strip())


def make_wrapper(directory: Path, real_ld: str, log: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    ld = directory / "ld"
    ld.write_text(_WRAPPER.format(real=shlex.quote(real_ld), log=shlex.quote(str(log))))
    ld.chmod(0o755)
    return directory


@dataclass
class TestCount:
    passed: int
    total: int
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.passed}/{self.total}"


@dataclass
class Build:
    """One project, one linker: where it builds and how to run its commands."""

    name: str
    linker: str  # "gnu" or "linkharness"
    source: Path  # a private copy of the unpacked source
    build_dir: Path
    wrapper_dir: Path
    link_log: Path
    command_log: Path
    jobs: int
    extra_cflags: str = ""  # on top of the hardened flags, compiling and linking
    extra_ldflags: str = ""

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        b = f"-B{self.wrapper_dir}"
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        cflags = f"{HARDENED_CFLAGS} {self.extra_cflags} {b}".replace("  ", " ")
        env.update(
            CC=f"gcc {b}", CXX=f"g++ {b}", CFLAGS=cflags, CXXFLAGS=cflags,
            LDFLAGS=f"{HARDENED_LDFLAGS} {self.extra_ldflags} {b}".replace("  ", " "),
            MAKEFLAGS="", MFLAGS="",
        )
        env.update(extra or {})
        return env

    def run(
        self, argv: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None,
        check: bool = True, timeout: float = 3600,
    ) -> subprocess.CompletedProcess[str]:
        """Run a build or test command, its output appended to the command log."""
        with self.command_log.open("a") as log:
            log.write(f"\n$ (cd {cwd or self.build_dir}) {shlex.join(argv)}\n")
            log.flush()
            done = subprocess.run(
                list(argv), check=False, cwd=cwd or self.build_dir, env=self.env(env), text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                errors="replace",
            )
            log.write(done.stdout)
            log.write(f"[exit {done.returncode}]\n")
        if check and done.returncode != 0:
            raise BuildFailed(f"{shlex.join(argv)} exited {done.returncode} (see {self.command_log})")
        return done

    def make(self, *targets: str, cwd: Path | None = None, check: bool = True,
             variables: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
        argv = ["nice", "-n", "10", "make", f"-j{self.jobs}", *variables, *targets]
        return self.run(argv, cwd=cwd, check=check)

    def cmake(self, *options: str) -> None:
        self.build_dir.mkdir(parents=True, exist_ok=True)
        self.run(["cmake", "-G", "Unix Makefiles", "-DCMAKE_BUILD_TYPE=None",
                  "-DCMAKE_VERBOSE_MAKEFILE=ON", *options, str(self.source)])
        self.make()

    def ctest(self, *options: str, timeout: float = 1800,
              env: Mapping[str, str] | None = None) -> TestCount:
        done = self.run(["ctest", "--output-on-failure", "-j", str(self.jobs), *options],
                        check=False, timeout=timeout, env=env)
        return ctest_count(done.stdout)


class BuildFailed(Exception):
    pass


_CTEST_SUMMARY = re.compile(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)")


def ctest_count(text: str) -> TestCount:
    match = _CTEST_SUMMARY.search(text)
    if match is None:
        return TestCount(0, 0, "no ctest summary")
    failed, total = int(match.group(2)), int(match.group(3))
    names = re.findall(r"^\s*\d+ - (\S+) \(", text.split("The following tests FAILED:")[-1], re.MULTILINE)
    return TestCount(total - failed, total, " ".join(names) if failed else "")


def fresh_copy(source: Path, destination: Path) -> Path:
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, symlinks=True)
    return destination


def linked_files(links: Sequence[Link]) -> list[Path]:
    """The files the successful links wrote that still exist."""
    found: list[Path] = []
    for link in links:
        name = link.output
        if link.status != 0 or name is None:
            continue
        path = (link.cwd / name).resolve()
        if path.is_file() and path not in found:
            found.append(path)
    return found


def check_outputs(paths: Sequence[Path]) -> list[str]:
    """`linkharness check` over each linked file: the violations, one line each."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    bad: list[str] = []
    for start in range(0, len(paths), 40):
        chunk = [str(p) for p in paths[start:start + 40]]
        done = subprocess.run(
            [sys.executable, "-m", "oracle.cli", "check", *chunk], check=False, env=env,
            cwd=REPO,
            capture_output=True, text=True, errors="replace",
        )
        if done.returncode != 0:
            bad.extend(line for line in (done.stdout + done.stderr).splitlines()
                       if line.strip() and not line.startswith("ok:"))
    return bad
