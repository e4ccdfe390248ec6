"""The ELF32 REL writer's output for the i386 sample, read back with pyelftools and checked
by readelf, and compared with what `as --32` makes of the same lowering as text: symbols
(binding, type, visibility, section), and relocations (type, symbol, implicit addend)."""

from __future__ import annotations

import subprocess
from collections import Counter
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from fuzz.assemble_i386 import assemble_i386
from fuzz.emit_elf32 import RELOC_TYPES_386, write_elf32
from fuzz.encode_i386 import FIELD_WIDTH
from fuzz.lower_i386 import THUNKS, lower_i386
from fuzz.pipeline_i386 import write_objects_i386
from fuzz.samples_i386 import SAMPLE_I386, SAMPLE_I386_CHOICES

TYPE_NAMES = {n: name for name, n in RELOC_TYPES_386.items()}


def _symbols(elf: ELFFile) -> dict[str, tuple[str, str, str, str]]:
    table: Any = elf.get_section_by_name(".symtab")
    out = {}
    for sym in table.iter_symbols():
        if sym.name and sym["st_info"]["type"] != "STT_FILE":
            shndx = sym["st_shndx"]
            section = shndx if isinstance(shndx, str) else elf.get_section(shndx).name
            out[sym.name] = (sym["st_info"]["bind"], sym["st_info"]["type"],
                             sym["st_other"]["visibility"], section)
    return out


def _relocations(elf: ELFFile) -> set[tuple[str, int, str, str, int]]:
    """(section, offset, type, symbol or section name, implicit addend) of every entry."""
    table: Any = elf.get_section_by_name(".symtab")
    out = set()
    for rel in elf.iter_sections():
        if not isinstance(rel, RelocationSection):
            continue
        assert rel["sh_type"] == "SHT_REL" and rel["sh_entsize"] == 8
        target = elf.get_section(rel["sh_info"])
        if target.name.startswith(".debug_"):
            continue  # `as --gdwarf-5` adds DWARF, which our writer does not write
        data = target.data()
        for r in rel.iter_relocations():
            sym = table.get_symbol(r["r_info_sym"])
            name = sym.name or elf.get_section(sym["st_shndx"]).name
            type_ = TYPE_NAMES[r["r_info_type"]]
            width = FIELD_WIDTH[type_]
            addend = int.from_bytes(data[r["r_offset"]:r["r_offset"] + width], "little",
                                    signed=True)
            out.add((target.name, r["r_offset"], type_, name, addend))
    return out


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    root = tmp_path_factory.mktemp("elf32")
    ours = write_objects_i386(SAMPLE_I386, root / "ours", choices=SAMPLE_I386_CHOICES)
    theirs = write_objects_i386(SAMPLE_I386, root / "as", True, SAMPLE_I386_CHOICES)
    return ours, theirs


def test_readelf_reads_our_objects_without_complaint(
        objects: tuple[list[Path], list[Path]]) -> None:
    for path in objects[0]:
        out = subprocess.run(["readelf", "-a", "-W", str(path)], capture_output=True,
                             text=True, check=True)
        assert "Warning" not in out.stderr and "Error" not in out.stderr, out.stderr
        assert "ELF32" in out.stdout and "Intel 80386" in out.stdout and "REL (" in out.stdout


def test_implicit_addends_are_in_the_fields() -> None:
    for obj in lower_i386(SAMPLE_I386, SAMPLE_I386_CHOICES):
        image = assemble_i386(obj)
        with_addends = {(sec.name, r.offset, r.type, r.addend)
                        for sec in image.sections for r in sec.relocs}
        elf = ELFFile(BytesIO(write_elf32(image, frozenset(THUNKS))))
        assert {(s, o, t, a) for s, o, t, _, a in _relocations(elf)} == with_addends
        assert any(a for *_, a in with_addends), "the sample has nonzero addends"


def test_symbols_are_what_gnu_as_makes(objects: tuple[list[Path], list[Path]]) -> None:
    for ours, theirs in zip(*objects, strict=True):
        with ours.open("rb") as f, theirs.open("rb") as g:
            mine, gnu = _symbols(ELFFile(f)), _symbols(ELFFile(g))
        assert mine == gnu
        for thunk in THUNKS:
            assert mine[thunk][:3] == ("STB_GLOBAL", "STT_FUNC", "STV_HIDDEN")


def _key(r: tuple[str, int, str, str, int], sections: set[str]
         ) -> tuple[str, str, str, int | None]:
    """A relocation without its offset, and without its addend when section-relative."""
    return (r[0], r[2], r[3], None if r[3] in sections else r[4])


def test_relocations_are_what_gnu_as_makes(objects: tuple[list[Path], list[Path]]) -> None:
    """The same relocations, but for two things as does differently: it resolves a
    pc-relative reference to a symbol of the relocated section itself at assembly time (a
    call to a static function, a pc-relative datum; our writer leaves the relocation, which
    must work as well), and it picks shorter instruction encodings, so offsets, and the
    addends of section-relative relocations, differ."""
    for ours, theirs in zip(*objects, strict=True):
        with ours.open("rb") as f, theirs.open("rb") as g:
            elf = ELFFile(f)
            where = {name: info[3] for name, info in _symbols(elf).items()}
            sections = {sec.name for sec in elf.iter_sections()}
            mine, gnu = _relocations(elf), _relocations(ELFFile(g))

        kept = [r for r in mine if not (r[2].startswith("R_386_PC")
                                        and where.get(r[3], r[3]) == r[0])]
        assert Counter(_key(r, sections) for r in kept) == \
            Counter(_key(r, sections) for r in gnu), ours.name
