"""The hostile campaign survives its cases (fuzz/hostile/supervise.py): a worker that
hangs is killed after the case's time bound and the case kept as a HANG find with its
input; a worker that dies is a CRASH find; an allocation past the worker's address-space
limit is a MemoryError find; and after each the pool goes on with the next cases."""

from __future__ import annotations

import time
from pathlib import Path

from fuzz.hostile.campaign import summary_table
from fuzz.hostile.seeds import Targets
from fuzz.hostile.supervise import Answer, Supervisor, draw_numbered, write_seeds

RUNNER = Path(__file__).with_name("misbehaving_runner.py")


def test_a_hung_or_dead_worker_is_a_find_and_the_campaign_goes_on(
        targets: Targets, tmp_path: Path) -> None:
    seeds = write_seeds(targets, tmp_path / "seeds.pickle")
    pool = Supervisor(targets, seeds, tmp_path / "workers", "7", jobs=1, case_seconds=4.0,
                      memory_bytes=1536 << 20, runner=f"{RUNNER}:run")
    answers: dict[int, Answer] = {}
    give_up = time.monotonic() + 300

    def tick() -> None:  # a supervisor that never kills the hung worker fails, not hangs
        assert time.monotonic() < give_up, f"the campaign stalled after {sorted(answers)}"

    try:
        pool.run("elf64-object", range(8), lambda: False,
                 lambda a: answers.__setitem__(a.n, a), tick)
        alive = [slot.process.is_alive() for slot in pool.slots]
    finally:
        pool.close()
    assert sorted(answers) == list(range(8)) and alive == [True]
    hang, death, hoard, rule = answers[1], answers[3], answers[4], answers[5]
    assert hang.kind == "HANG" and hang.broken == ["HANG: no answer within 4s"]
    assert hang.drawn is not None
    assert hang.drawn.data == draw_numbered(targets, "7", "elf64-object", 1).data
    assert death.kind == "CRASH" and "signal 9" in death.broken[0]
    assert "raised MemoryError" in hoard.broken[0] and hoard.kind == ""
    assert rule.broken == ["a rule broken"] and rule.drawn is not None
    assert all(not answers[n].broken for n in (0, 2, 6, 7))
    assert pool.started == 3  # the first worker, and one after the hang and the death


def test_summary_table_has_a_row_per_target() -> None:
    table = summary_table({"tbd": {"tried": 100000, "per_second": 41.25, "broke_a_rule": 2,
                                   "hangs": 1, "crashes": 0}})
    assert table.splitlines()[2] == "| tbd | 100,000 | 41.2 | 2 | 1, 0 |"
