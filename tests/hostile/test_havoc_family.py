"""The havoc family (fuzz/hostile/havoc.py): its draws replay from their case numbers, stay
within their size bound, stack several edits that shift the file, reach text targets with
radamsa-like edits, and a seeded bug (the guard its first find added, taken out) is caught
by the campaign that found it."""

from __future__ import annotations

import io
import random
import threading
from pathlib import Path

import pytest

from fuzz.hostile.campaign import Figures, campaign
from fuzz.hostile.cases import run_drawn
from fuzz.hostile.havoc import GROWTH, SUFFIX, mutate_havoc
from fuzz.hostile.mutate import RandomPicker
from fuzz.hostile.seeds import Targets
from fuzz.hostile.semantic import split_family
from fuzz.hostile.supervise import draw_numbered
from linker.elf import headers

RUNNER = Path(__file__).with_name("unguarded_runner.py")
# the first case of the seed-1 campaign that crashed the emulator: a run of 0xDA (fcmovu)
# at the entry point of elf64-exe
FIRST_CRASH = ("elf64-exe", "1", 749)


def test_the_family_is_named_by_its_suffix() -> None:
    assert split_family("elf64-object" + SUFFIX) == ("elf64-object", "havoc")


def test_draws_replay_stay_bounded_and_stack_shifting_edits(targets: Targets) -> None:
    seed = targets.links["elf64-object"].seeds[0]
    others = targets.all_seeds()
    lengths: set[int] = set()
    stacks: list[int] = []
    kinds: set[str] = set()
    for n in range(300):
        data, done = mutate_havoc(RandomPicker(random.Random(n)), seed, others)
        assert (data, done) == mutate_havoc(RandomPicker(random.Random(n)), seed, others)
        assert len(data) <= 4 * len(seed.data) + GROWTH
        lengths.add(len(data))
        stacks.append(len(done))
        kinds.update(d.split(" ")[0] for d in done)
    assert max(stacks) >= 16 and min(stacks) == 1
    assert len(lengths) > 100  # deletions, insertions and splices shift the contents
    assert {"deleted", "duplicated", "inserted", "copied", "bit", "random"} <= kinds


def test_text_inputs_get_token_and_line_edits(targets: Targets) -> None:
    seed = targets.links["script"].seeds[0]
    assert not seed.layout.fields  # a text seed
    done = [d for n in range(200)
            for d in mutate_havoc(RandomPicker(random.Random(n)), seed)[1]]
    assert any(d.startswith("token ") for d in done)
    assert any(d.startswith(("deleted line", "swapped lines")) or "repeated" in d
               for d in done)
    assert any(d.startswith("number at") or "\\x00" in d for d in done)


def test_the_campaign_catches_the_translation_guard_removed(targets: Targets,
                                                             tmp_path: Path) -> None:
    target, seed, n = FIRST_CRASH
    drawn = draw_numbered(targets, seed, target + SUFFIX, n)
    assert run_drawn(drawn, targets, tmp_path / "guarded") == []  # the guard holds
    out = io.StringIO()
    result: list[Figures] = []
    thread = threading.Thread(daemon=True, target=lambda: result.append(campaign(
        [target + SUFFIX], float("inf"), tmp_path / "found", seed, cases=1, start=n,
        case_seconds=60.0, progress_seconds=60.0, out=out, targets=targets,
        runner=f"{RUNNER}:run")))
    thread.start()
    thread.join(300)
    assert result, f"the campaign stalled: {out.getvalue()}"
    assert result[0][target + SUFFIX]["crashes"] == 1, out.getvalue()
    kept = tmp_path / "found" / f"{target}{SUFFIX}-{n:06d}"
    assert (kept / drawn.file_name).read_bytes() == drawn.data
    assert "CRASH: the worker died (signal 11)" in (kept / "recipe.txt").read_text()


def test_a_linker_guard_taken_out_is_caught(targets: Targets, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Section names read without the check that each lies inside .shstrtab: blind edits
    that shift the section headers or the table reach it within a few cases (the first
    catch of campaign seed "power" is case 32; a change to the family's draws moves it)."""
    monkeypatch.setattr(headers, "_section_names",
                        lambda table, offsets, path: headers._decoded_names(table, offsets))
    for n in range(32, 36):
        drawn = draw_numbered(targets, "power", "elf64-object" + SUFFIX, n)
        broken = run_drawn(drawn, targets, tmp_path / f"case{n}")
        if broken:
            assert "internal error" in broken[0] or "raised" in broken[0], broken
            return
    pytest.fail("no rule broken in cases 32-35 of elf64-object@havoc (seed power)")
