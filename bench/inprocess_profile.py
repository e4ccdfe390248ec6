"""Profiling a piece of this process with pyinstrument, written the way link_speed's
--profile writes a link's profile: the call tree, and a flat list of every function by its
own time (through pstats, see bench/profiling.py), whose head is returned for printing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.profiling import flat_by_own_time

TOP_FUNCTIONS = 25
INTERVAL_S = 0.0005


def profile_call(work: Callable[[], object], out_dir: Path, name: str, title: str) -> str:
    """Run `work()` under pyinstrument; `name`.txt (tree), `name`-flat.txt and
    `name`.pstats go to `out_dir`; returns the title, the files and the top of the flat list."""
    from pyinstrument import Profiler
    from pyinstrument.renderers import PstatsRenderer

    profiler = Profiler(interval=INTERVAL_S)
    profiler.start()
    work()
    session = profiler.stop()
    out_dir.mkdir(parents=True, exist_ok=True)
    tree, stats, flat = (out_dir / f"{name}.txt", out_dir / f"{name}.pstats",
                         out_dir / f"{name}-flat.txt")
    tree.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    # pstats data is marshal bytes that the renderer hands back as surrogate-escaped text.
    stats.write_bytes(PstatsRenderer().render(session).encode("utf-8", "surrogateescape"))
    flat.write_text("\n".join(flat_by_own_time(stats, 10_000)) + "\n")
    return "\n".join([f"{title}: {session.duration:.2f} s sampled",
                      f"call tree: {tree}", f"flat:      {flat} (top {TOP_FUNCTIONS} by own time)",
                      *flat_by_own_time(stats, TOP_FUNCTIONS)])
