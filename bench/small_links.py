"""Small links in process: property (a)'s linking stage alone, repeated, for the per-link
fixed cost (issue 15, issue 12's linking stage).

    .venv/bin/python bench/small_links.py --examples 100 --rounds 5

Draws property (a)'s examples (the same strategy and seed as bench/fuzz_throughput.py),
writes each one's objects once, then links every example `--rounds` times with
`linker.link` exactly as the property does.  Prints the CPU time per link: the sum over
examples of each one's fastest round (the figure least moved by other work on a shared
machine) and each round's mean; and a digest of the outputs, so that two trees can be
shown to write the same bytes (run it in each, alternately).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fuzz_throughput import _linkharness_cases, draw_examples
from fuzz.scratch import scratch_parent


def _prepared(examples: list[Any], root: Path) -> list[tuple[list[str], Any]]:
    """Each example's objects written (in its link order) and its link options."""
    from fuzz.pie import pie_form
    from fuzz.pipeline import libraries, write_objects
    out = []
    for n, (program, options) in enumerate(examples):
        if options.pie:
            program = pie_form(program)
        objects = write_objects(program, root / f"example{n}")
        inputs = [*map(str, options.ordered(objects)), *libraries(program, root / "libtrace")]
        out.append((inputs, options))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed of the draw")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    from fuzz.libtrace import build_libraries
    from fuzz.pipeline import DYNAMIC_LINKER
    from linker import link

    examples, _wall, _cpu = draw_examples(_linkharness_cases(), args.examples, args.seed)
    with tempfile.TemporaryDirectory(prefix="small-links-", dir=scratch_parent()) as tmp:
        root = Path(tmp)
        build_libraries(root / "libtrace", m32=False)
        cases = _prepared(examples, root)

        def linked(n: int) -> float:
            inputs, o = cases[n]
            start = time.process_time()
            link(inputs, root / f"out{n}", entry="_start", dynamic_linker=DYNAMIC_LINKER,
                 bind_now=o.bind_now, hash_style=o.hash_style, pie=o.pie, ibt_plt=o.ibt_plt,
                 emit_relocs=o.emit_relocs)
            return time.process_time() - start

        for n in range(min(3, len(cases))):  # first-use imports and caches
            linked(n)
        best = [float("inf")] * len(cases)
        means = []
        for _ in range(args.rounds):
            times = [linked(n) for n in range(len(cases))]
            best = [min(b, t) for b, t in zip(best, times)]
            means.append(sum(times) / len(times))
        digest = hashlib.sha256(b"".join((root / f"out{n}").read_bytes()
                                         for n in range(len(cases)))).hexdigest()[:16]
    print(f"{len(cases)} examples of property (a), {args.rounds} rounds: "
          f"{1e3 * sum(best) / len(best):.3f} ms CPU per link (each example's fastest "
          f"round); round means {', '.join(f'{1e3 * m:.2f}' for m in means)} ms; "
          f"outputs sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
