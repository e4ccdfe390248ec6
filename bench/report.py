"""The results as a table for people and as JSON for the README and later comparisons.

The ratio is this linker's median wall time divided by the baseline's (linkharness unless
told otherwise): 0.01 means a hundred times faster than linkharness. The CPU ratio does the
same with user + system time; it is the steadier figure when other work shares the cores,
and it charges lld's and mold's threads in full.
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.measure import Measurement
from bench.workload import Workload

COLUMNS = ("linker", "median s", "ratio to {base}", "min s", "cpu s", "cpu ratio",
           "peak RSS MB", "output KB", "check")


def ratio(m: Measurement, base: Measurement | None) -> float | None:
    """m's median wall time over the baseline's, or None when either has no figures."""
    if base is None or not (m.ok and base.ok) or base.median_s <= 0:
        return None
    return m.median_s / base.median_s


def cpu_ratio(m: Measurement, base: Measurement | None) -> float | None:
    """The same for CPU time (user + system), which other load on the machine skews less."""
    if base is None or not (m.ok and base.ok) or base.median_cpu_s <= 0:
        return None
    return m.median_cpu_s / base.median_cpu_s


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _row(m: Measurement, base: Measurement | None) -> list[str]:
    if not m.ok:
        return [m.linker, "failed", *["-"] * (len(COLUMNS) - 3), m.error or ""]
    return [
        m.linker,
        f"{m.median_s:.4f}",
        _fmt(ratio(m, base)),
        f"{min(m.wall_s):.4f}",
        f"{m.median_cpu_s:.4f}",
        _fmt(cpu_ratio(m, base)),
        f"{m.peak_rss_mib:.1f}",
        f"{m.output_bytes / 1024:.0f}",
        ("ok " if m.verified_ok else "WRONG ") + m.verified,
    ]


def table(workload: Workload, results: list[Measurement], baseline: str) -> str:
    """A fixed-width table of one workload's results, the baseline's ratio being 1."""
    base = next((m for m in results if m.linker == baseline), None)
    header = [c.format(base=baseline) for c in COLUMNS]
    rows = [header] + [_row(m, base) for m in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = []
    for r in rows:
        cells = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join([*cells, r[-1]]))
    runs = max((m.runs for m in results), default=0)
    title = (f"{workload.name}: {workload.description}; {workload.objects} objects, "
             f"{workload.relocs:,} relocations; median of {runs} runs")
    return "\n".join([title, *lines])


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def to_json(workloads: list[Workload], results: dict[str, list[Measurement]],
            baseline: str, settings: dict[str, Any], linkers: dict[str, Any]) -> dict[str, Any]:
    """A JSON-able record of the whole run: machine, settings, linkers and every figure."""
    out: list[dict[str, Any]] = []
    for w in workloads:
        base = next((m for m in results[w.name] if m.linker == baseline), None)
        rows = []
        for m in results[w.name]:
            row = asdict(m)
            row.update(ok=m.ok, median_s=_finite(m.median_s), median_cpu_s=_finite(m.median_cpu_s),
                       ratio_to_baseline=ratio(m, base),
                       cpu_ratio_to_baseline=cpu_ratio(m, base))
            rows.append(row)
        out.append({"name": w.name, "description": w.description, "objects": w.objects,
                    "relocs": w.relocs, "expected_status": w.expected_status, "results": rows})
    return {
        "baseline": baseline,
        "machine": {"cpus": _cpu_count(), "cpu": _cpu_model(), "system": platform.platform(),
                    "python": platform.python_version(), "load_average": os.getloadavg()},
        "settings": settings,
        "linkers": linkers,
        "workloads": out,
    }


def write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
