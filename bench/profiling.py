"""`link_speed.py --profile`: linkharness on one workload under pyinstrument.

The link runs once (as `python -m pyinstrument -m linker ...`, the same command line the
benchmark times) and the session is rendered twice: pyinstrument's call tree to profile.txt,
and a flat list of every function by its own time to profile-flat.txt, whose head is
printed. The flat list goes through pstats because pyinstrument's own flat renderer books
the time of hidden library frames (numpy, enum) as "self" time of some linker module.
"""

from __future__ import annotations

import io
import pstats
import subprocess
from pathlib import Path

from bench.linkers import project_python
from bench.workload import Workload

TOP_FUNCTIONS = 25


def flat_by_own_time(pstats_file: Path, top: int) -> list[str]:
    """'own s  total s  function' lines, the functions with the most own time first."""
    stats = pstats.Stats(str(pstats_file), stream=io.StringIO())
    rows = []
    for (filename, line, name), value in stats.stats.items():  # type: ignore[attr-defined]
        own, total = value[2], value[3]
        where = "/".join(Path(filename).parts[-2:]) if filename != "~" else "<built-in>"
        rows.append((own, total, f"{name}  {where}:{line}"))
    rows.sort(reverse=True)
    lines = [f"{'own s':>8}  {'total s':>8}  function"]
    lines += [f"{own:8.3f}  {total:8.3f}  {what}" for own, total, what in rows[:top]]
    return lines


def profile_link(workload: Workload, out_dir: Path) -> tuple[int, str]:
    """Profile one linkharness link into `out_dir`; (status, the text to print)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    python = project_python()
    session = out_dir / "profile.pyisession"
    output = (out_dir / f"{workload.name}.linkharness.profiled").resolve()
    output.unlink(missing_ok=True)
    session.unlink(missing_ok=True)
    title = (f"python -m linker on {workload.name} ({len(workload.args)} arguments, "
             f"{workload.relocs:,} relocations)")
    link = subprocess.run(
        [python, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session),
         "--target-description", title, "-m", "linker", "-o", str(output), *workload.args],
        cwd=workload.directory, capture_output=True, text=True, check=False,
    )
    if not session.exists():
        return 1, f"pyinstrument wrote no session: {link.stderr.strip()[-500:]}"
    tree, flat = out_dir / "profile.txt", out_dir / "profile-flat.txt"
    stats = out_dir / "profile.pstats"
    for renderer, path in (("text", tree), ("pstats", stats)):
        subprocess.run([python, "-m", "pyinstrument", "--load", str(session), "-r", renderer,
                        "--no-color", "-o", str(path)], check=True, capture_output=True)
    lines = flat_by_own_time(stats, TOP_FUNCTIONS)
    flat.write_text("\n".join(flat_by_own_time(stats, 10_000)) + "\n")
    status = "linked" if output.exists() else f"link FAILED: {link.stderr.strip()[-300:]}"
    text = "\n".join([
        f"profile of linkharness on {workload.name} ({status})",
        f"call tree: {tree}",
        f"flat:      {flat} (top {TOP_FUNCTIONS} by own time below)",
        *lines,
    ])
    return (0 if output.exists() else 1), text
