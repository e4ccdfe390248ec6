"""The feature inventory (fuzz/inventory.py) is the fuzzers' contract: every row that names
labels is drawn by the deterministic samples plus a few deterministic draws of its target's
strategies; the holes are exactly the known ones; and the linker bug a row documents is
still there (an xfail that turns into a failure when it is fixed, so the row gets updated)."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from fuzz import campaign
from fuzz.inventory import (
    KNOWN_HOLES,
    ROWS,
    TARGETS,
    LabelTally,
    label_counts,
    reached_labels,
    render,
    unreached,
)
from linker import link

DRAWS = campaign.INVENTORY_DRAWS


@pytest.fixture(scope="module")
def counts() -> dict[str, LabelTally]:
    return {target: label_counts(target, DRAWS) for target in TARGETS}


@pytest.mark.parametrize("target", TARGETS)
def test_every_row_of_a_target_is_drawn(target: str, counts: dict[str, LabelTally]) -> None:
    rows = [r for r in ROWS if r.target == target]
    labels = set(counts[target])
    missing = [f"{r.feature}: {sorted(set(r.labels) - labels)}" for r in unreached(rows, labels)]
    assert not missing, "rows no generator drew:\n" + "\n".join(missing)


def test_the_campaign_prints_every_row_drawn(counts: dict[str, LabelTally],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`make fuzz` ends with the table from the same draws plus its workers' counts, so even
    a campaign whose workers recorded nothing prints every row drawn."""
    import fuzz.inventory

    total = LabelTally()
    for tally in counts.values():
        total |= tally
    monkeypatch.setattr(fuzz.inventory, "all_label_counts", lambda n: total)
    lines: list[str] = []
    campaign.print_inventory(Counter({"examples": 2, "tlv:cxx": 2}), lines.append)
    assert f"{total['examples'] + 2} examples" in lines[0]
    assert len(lines) == len(ROWS) + 3
    assert lines[-1].endswith(f"({0} not drawn this run), {len(KNOWN_HOLES)} holes")


def test_holes_are_the_known_ones() -> None:
    holes = {r.key for r in ROWS if not r.labels}
    assert holes == KNOWN_HOLES
    assert all(r.hole or r.known_bug for r in ROWS if not r.labels)


def test_a_new_hole_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not vacuous: a row without a generator is a row not drawn."""
    from fuzz import inventory
    fake = inventory.Row("elf64-x86-64", "x", "a feature nothing draws", ("label:nobody",))
    assert unreached([fake], reached_labels("elf32-i386", 1)) == [fake]


def test_render_prints_every_row() -> None:
    lines: list[str] = []
    render({"examples": 3, "reloc:R_X86_64_PC32": 3}, lines.append)
    assert len(lines) == len(ROWS) + 2
    assert any("R_X86_64_PC32 against a symbol" in line and line.endswith(" 3")
               for line in lines)
    # every hole is printed as one (there may be none left)
    assert sum(line.endswith("HOLE") for line in lines) == len(KNOWN_HOLES)


NEGATIVE_ABSOLUTE = """\
.globl _start
.text
_start: mov $60, %eax; xor %edi, %edi; syscall
.data
.short lh_neg
"""


def test_negative_absolute_symbol_links(tmp_path: Path) -> None:
    (tmp_path / "a.s").write_text(NEGATIVE_ABSOLUTE)
    (tmp_path / "b.s").write_text(".globl lh_neg\n.set lh_neg, -0x8000\n")
    for name in ("a", "b"):
        subprocess.run(["as", "--64", "-o", str(tmp_path / f"{name}.o"),
                        str(tmp_path / f"{name}.s")], check=True)
    out = tmp_path / "out"
    link([str(tmp_path / "a.o"), str(tmp_path / "b.o")], out, entry="_start")
    ref = tmp_path / "ref"
    subprocess.run(["ld.bfd", "-o", str(ref), str(tmp_path / "a.o"), str(tmp_path / "b.o")],
                   check=True)
    # the field holds -0x8000 as GNU ld writes it (S + A modulo 2**64)
    assert _data(out) == _data(ref) == b"\x00\x80"


def _data(path: Path) -> bytes:
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".data")
        assert sec is not None
        return sec.data()
