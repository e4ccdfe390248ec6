"""Every crash the hostile campaigns found (fuzz/hostile, `make fuzz-hostile`) as a
regression input: tests/hostile/cases/NAME/ holds the mutated file, recipe.txt (target,
file, the mutations that made it, the rule it broke) and expect.txt, the text the one-line
LinkError must now contain (no expect.txt: the link must now succeed).  The case replaces its file in the target's seed link
(fuzz.hostile.seeds); an executable case (recipe target *-exe) goes to oracle.check,
check_fields and run instead, which must keep their rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.hostile.cases import link_arguments, run_kept, with_current_seeds
from fuzz.hostile.seeds import Targets
from fuzz.hostile.semantic import split_family
from linker import LinkError, link

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


def _recipe(case: Path) -> dict[str, str]:
    lines = (case / "recipe.txt").read_text().splitlines()[:2]
    return dict(line.split(": ", 1) for line in lines)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_found_input_keeps_the_rules(case: Path, targets: Targets, tmp_path: Path) -> None:
    recipe = _recipe(case)
    mutated = case / recipe["file"]
    assert run_kept(targets, recipe["target"], mutated, tmp_path / "work") == []
    expect = case / "expect.txt"
    base, _ = split_family(recipe["target"])
    if base in targets.links:
        target = targets.links[base]
        kept, data = mutated, mutated.read_bytes()
        if with_current_seeds(data, target) != data:  # a script's seed paths made this run's
            kept = tmp_path / "kept" / mutated.name
            kept.parent.mkdir()
            kept.write_bytes(with_current_seeds(data, target))
        inputs, options = link_arguments(
            target, [kept if p.name == mutated.name else p for p in target.inputs])
        if not expect.exists():  # a value that is representable after all: a good link
            link(inputs, tmp_path / "a.out", **options)  # type: ignore[arg-type]
            assert (tmp_path / "a.out").is_file()
            return
        with pytest.raises(LinkError) as caught:
            link(inputs, tmp_path / "a.out", **options)  # type: ignore[arg-type]
        assert len(str(caught.value).splitlines()) == len(caught.value.diagnostics)
        assert expect.read_text().strip() in str(caught.value)
        assert not (tmp_path / "a.out").exists()
