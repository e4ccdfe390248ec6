"""Executable seeds from the other linkers and from Apple's linker (the semantic campaign's
second source of inputs, next to fuzz/hostile/seeds_real.py).

- lld-exe, mold-exe, gold-exe, linkharness-exe: the C unit of fuzz/hostile/real/ (its
  objects, already compiled by seeds_real) linked by gcc as a PIE against the host's
  libz.so.1 with `-fuse-ld=lld|mold|gold`, and through linkharness's own ld shim, so that
  the judges meet each linker's layout choices (mold's and lld's segment order, gold's
  .note sections, our own) mutated;
- apple-exe, apple-dylib, apple-bundle: Mach-O files Apple's ld64 made, from the macOS
  wheels tests/oracle/macho/test_apple_binaries.py fetches into .cache/apple-binaries
  (ninja's x86-64 slice, glfw's dylib, a universal i386+x86_64 extension).  Only when that
  cache is there: a fresh clone without network access has the other targets only
  (`available`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
APPLE_FILES = ROOT / ".cache" / "apple-binaries" / "files"
LINKERS = ("lld-exe", "mold-exe", "gold-exe", "linkharness-exe")
APPLE = {"apple-exe": "ninja-x86_64-thin",
         "apple-dylib": "glfw==2.6.5/libglfw.3.dylib",
         "apple-bundle": "markupsafe==1.1.1/_speedups.so"}
MORE_TARGETS = (*LINKERS, *APPLE)


def _linker_flags(name: str, out: Path) -> list[str]:
    """gcc's flags to link with that linker: -fuse-ld for mold and gold; for lld, whose
    binary here is ld.lld-14, a -B directory whose `ld` is it; for ours, its shim."""
    if name == "linkharness-exe":
        program = "import sys; from oracle.cli import main; sys.exit(main())"
        done = subprocess.run([sys.executable, "-c", program, "ld-shim"], capture_output=True,
                              text=True, check=True)
        return ["-B", done.stdout.strip()]
    if name == "lld-exe":
        directory = out / "lld-bin"
        directory.mkdir(exist_ok=True)
        (directory / "ld").unlink(missing_ok=True)
        (directory / "ld").symlink_to("/usr/bin/ld.lld-14")
        return ["-B", str(directory)]
    return [f"-fuse-ld={name.removesuffix('-exe')}"]


def more_exe_targets(real: Path, exe_target: Any) -> dict[str, Any]:
    """The targets above; `real`: seeds_real's work directory (its objects and its seat
    of the host's libz.so.1); `exe_target`: fuzz.hostile.seeds.ExeTarget."""
    objects = [real / "objects" / "c_parts.o", real / "objects" / "stub.o"]
    seat = real / "system-so"
    out = real / "more"
    out.mkdir(exist_ok=True)
    targets: dict[str, Any] = {}
    for name in LINKERS:
        flags = _linker_flags(name, out)
        done = subprocess.run(["gcc", *flags, *map(str, objects), str(seat / "libz.so.1"),
                               "-o", str(out / name)], capture_output=True, text=True,
                              check=False)
        if done.returncode:
            raise RuntimeError(f"building the hostile seed {name}: {done.stderr[-400:]}")
        targets[name] = exe_target(name, out / name, objects, [seat], deep=True)
    for name, file in APPLE.items():
        path = APPLE_FILES / file
        if path.is_file():
            targets[name] = exe_target(name, path, [], [], deep=True)
    return targets


def available(names: list[str], known: set[str]) -> list[str]:
    """`names` without the Apple targets whose files are not cached here."""
    return [n for n in names if n.split("@")[0] in known or n.split("@")[0] not in APPLE]
