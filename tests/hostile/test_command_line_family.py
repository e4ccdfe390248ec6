"""The command-line family (fuzz/hostile/command_lines.py): each target's valid link has a
command-line spelling that links as linker.link does, benign added options break no rule,
and a seeded bug in what only the command line reaches is caught."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from fuzz.hostile import command_lines
from fuzz.hostile.mutate import RandomPicker
from fuzz.hostile.seeds import Targets

GENERATOR_LINKS = ("elf64-object", "elf32-object", "macho64-object", "macho32-object",
                   "archive", "shared-object", "tbd", "script", "relocatable",
                   "version-script", "macho64-dylib-input", "macho32-dylib-input")


@pytest.mark.parametrize("name", GENERATOR_LINKS)
def test_every_generator_link_has_a_command_line_that_links(
        name: str, targets: Targets, tmp_path: Path) -> None:
    target = targets.links[name]
    assert command_lines.applies(target)
    assert command_lines.options_case(target, command_lines.encode([]), tmp_path) == []


def test_options_come_from_the_help_and_words_round_trip() -> None:
    words = command_lines.option_words()
    assert {"--section-start", "-Ttext", "--defsym", "-Map", "--hash-style"} <= set(words)
    assert not set(words) & command_lines.NOT_DRAWN
    drawn = command_lines.draw_command_line(RandomPicker(random.Random(5)), macho=False)
    assert any(drawn[0].startswith(w) for w in words)  # a draw starts with a help option
    assert command_lines.decode(command_lines.encode(drawn)) == drawn
    with pytest.raises(ValueError):
        command_lines.decode(b'{"not": "a list"}')


def test_a_benign_option_and_a_refused_one_break_no_rule(targets: Targets,
                                                          tmp_path: Path) -> None:
    target = targets.links["elf64-object"]
    for words in (["--hash-style=gnu"], ["-Tdata", "18446744073709551616"],
                  ["-Map", "{missing}"], ["-e", "99999999999999999999999999"]):
        assert command_lines.options_case(target, command_lines.encode(words),
                                          tmp_path) == [], words


def test_a_seeded_entry_bug_is_caught(targets: Targets, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Read -e NUMBER without GNU ld's clamping again (as before the family found it): the
    family must report the struct.error the header writer then raises."""
    import linker.elf.link as elf_link

    def unclamped(symtab: object, syms: object, named: object, entry: str,
                  shared: bool = False, word: int = 8) -> int:
        return int(entry, 0)

    monkeypatch.setattr(elf_link, "_entry_address", unclamped)
    broken = command_lines.options_case(
        targets.links["elf64-object"], command_lines.encode(["-e", "99999999999999999999"]),
        tmp_path)
    assert any("internal error" in b for b in broken), broken
