"""The field oracle given a good output and a mutated input (not the input the output was
linked from, as a stranger's campaign may pass them): a symbol whose st_shndx is a
reserved index (0xff00-0xffef, 0xfffe) raised KeyError, a Mach-O symbol whose n_sect is
past the sections raised IndexError.  Each input is now one `unreadable` mismatch.  The
inputs are the semantic family's draws (seed "fx") that found them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.hostile.cases import link_arguments
from fuzz.hostile.rules import fields_rules, write_case
from fuzz.hostile.seeds import Targets
from fuzz.hostile.semantic import SUFFIX
from fuzz.hostile.supervise import draw_numbered
from linker import link


@pytest.mark.parametrize("target, case", [("elf64-object", 18), ("elf64-object", 57),
                                          ("gcc-object", 25), ("macho64-dwarf-object", 56)])
def test_good_output_with_a_mutated_input(target: str, case: int, targets: Targets,
                                          tmp_path: Path) -> None:
    seed = targets.links[target]
    operands, options = link_arguments(seed, list(seed.inputs))
    good = tmp_path / "good"
    link(operands, good, **options)  # type: ignore[arg-type]
    drawn = draw_numbered(targets, "fx", target + SUFFIX, case)
    mutated = write_case(tmp_path / "in", seed.inputs[drawn.index].name, drawn.data)
    inputs = [mutated if i == drawn.index else p for i, p in enumerate(operands)]
    assert fields_rules(good, [p for p in inputs if str(p).endswith((".o", ".a"))]) == []
