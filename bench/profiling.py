"""`link_speed.py --profile`: linkharness on one workload under pyinstrument.

The link runs once (as `python -m pyinstrument -m linker ...`, the same command line the
benchmark times) and the session is rendered twice: the call tree to profile.txt and the
flat list of functions by their own time to profile-flat.txt, whose head is printed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.linkers import project_python
from bench.workload import Workload

TOP_LINES = 30


def profile_link(workload: Workload, out_dir: Path) -> tuple[int, str]:
    """Profile one linkharness link into `out_dir`; (status, the text to print)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    python = project_python()
    session = out_dir / "profile.pyisession"
    output = (out_dir / f"{workload.name}.linkharness.profiled").resolve()
    output.unlink(missing_ok=True)
    link = subprocess.run(
        [python, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session),
         "-m", "linker", "-o", str(output), *workload.args],
        cwd=workload.directory, check=False, capture_output=True, text=True,
    )
    if not session.exists():
        return 1, f"pyinstrument wrote no session: {link.stderr.strip()[-500:]}"
    renders = {"profile.txt": [], "profile-flat.txt": ["-p", "flat"]}
    for name, options in renders.items():
        subprocess.run(
            [python, "-m", "pyinstrument", "--load", str(session), "-r", "text", "--no-color",
             *options, "-o", str(out_dir / name)],
            check=True, capture_output=True,
        )
    flat = (out_dir / "profile-flat.txt").read_text().splitlines()
    status = "linked" if output.exists() else f"link FAILED: {link.stderr.strip()[-300:]}"
    text = "\n".join([
        f"profile of linkharness on {workload.name} ({status})",
        f"call tree: {out_dir / 'profile.txt'}",
        f"flat:      {out_dir / 'profile-flat.txt'} (top {TOP_LINES} lines below)",
        *flat[:TOP_LINES],
    ])
    return (0 if output.exists() else 1), text
