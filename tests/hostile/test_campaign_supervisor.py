"""The hostile campaign survives its cases (fuzz/hostile/campaign.py, supervise.py): a
worker that hangs is killed after the case's time bound and the case kept as a HANG find
with its input; a worker that dies is a CRASH find; an allocation past the worker's
address-space limit is a MemoryError find; and after each the campaign goes on with the
next cases, printing progress and a summary table."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from fuzz.hostile.campaign import Figures, campaign, summary_table
from fuzz.hostile.seeds import Targets
from fuzz.hostile.supervise import draw_numbered

RUNNER = Path(__file__).with_name("misbehaving_runner.py")


def _recipe(case: Path) -> str:
    return (case / "recipe.txt").read_text()


def test_a_hung_or_dead_worker_is_a_find_and_the_campaign_goes_on(
        targets: Targets, tmp_path: Path) -> None:
    out = io.StringIO()
    result: list[Figures] = []
    # in a thread, so that a campaign that never kills its hung worker fails the test
    # rather than hanging it
    thread = threading.Thread(daemon=True, target=lambda: result.append(campaign(
        ["elf64-object"], float("inf"), tmp_path / "found", 7, cases=8, case_seconds=4.0,
        memory_mib=1536, progress_seconds=1.0, out=out, targets=targets,
        runner=f"{RUNNER}:run")))
    thread.start()
    thread.join(300)
    assert result, f"the campaign stalled: {out.getvalue()}"
    (figures,) = result
    assert figures["elf64-object"] | {"seconds": 0, "per_second": 0} == {
        "tried": 8, "seconds": 0, "jobs": 1, "per_second": 0, "broke_a_rule": 4, "hangs": 1,
        "crashes": 1}
    kept = {int(p.name.rsplit("-", 1)[1]): p for p in (tmp_path / "found").iterdir()}
    assert sorted(kept) == [1, 3, 4, 5]
    hung = draw_numbered(targets, "7", "elf64-object", 1)
    assert (kept[1] / hung.file_name).read_bytes() == hung.data
    assert "seed: 7\ncase: 1\n" in _recipe(kept[1])
    assert "HANG: no answer within 4s" in _recipe(kept[1])
    assert "CRASH: the worker died (signal 9)" in _recipe(kept[3])
    assert "raised MemoryError" in _recipe(kept[4]) and "a rule broken" in _recipe(kept[5])
    lines = out.getvalue().splitlines()
    assert any(line.startswith("FIND elf64-object case 1: HANG") for line in lines)
    assert any("elf64-object         8/8 cases" in line and "(hangs 1, crashes 1)" in line
               for line in lines)


def test_summary_table_has_a_row_per_target() -> None:
    table = summary_table({"tbd": {"tried": 100000, "per_second": 41.25, "broke_a_rule": 2,
                                   "hangs": 1, "crashes": 0}})
    assert table.splitlines()[2] == "| tbd | 100,000 | 41.2 | 2 | 1, 0 |"
