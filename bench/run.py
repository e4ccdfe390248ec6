"""`make bench`: every benchmark in bench/, one after the other.

A benchmark is a module of this directory with a `BENCHMARK` title and a
`main(argv) -> int`; arguments given here are passed to each (one that refuses them is
counted as failed and the others still run). The exit status is the worst of theirs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_DIR = Path(__file__).resolve().parent


def benchmarks() -> list[tuple[str, str, Callable[[list[str]], int]]]:
    """(module, title, main) of every benchmark module, by module name."""
    found = []
    for path in sorted(BENCH_DIR.glob("*.py")):
        if path.stem in {"run", "__init__"}:
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        title = getattr(module, "BENCHMARK", None)
        if isinstance(title, str) and callable(getattr(module, "main", None)):
            found.append((path.stem, title, module.main))
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    worst = 0
    for name, title, run in benchmarks():
        print(f"== {name}: {title}", flush=True)
        try:
            status = run(list(args))
        except SystemExit as stop:  # argparse refusing an option meant for another one
            status = stop.code if isinstance(stop.code, int) else 2
        print(f"== {name}: exit {status}", flush=True)
        worst = max(worst, status)
    return worst


if __name__ == "__main__":
    sys.exit(main())
