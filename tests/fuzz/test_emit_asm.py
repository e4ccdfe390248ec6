"""The assembly text of the sample program, assembled by GNU as and by llvm-mc, defines the
same symbols (binding, type, data size, section) as our own object writer's output."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from fuzz.pipeline import write_objects
from fuzz.samples import SAMPLE


def _symbols(path: Path) -> set[tuple[Any, ...]]:
    elf = ELFFile(io.BytesIO(path.read_bytes()))
    symtab: Any = elf.get_section_by_name(".symtab")
    out = set()
    for s in symtab.iter_symbols():
        if s.name and s["st_info"]["type"] != "STT_FILE" and s["st_shndx"] != "SHN_UNDEF":
            shndx = s["st_shndx"]
            section = shndx if isinstance(shndx, str) else elf.get_section(shndx).name
            is_function = s["st_info"]["type"] == "STT_FUNC"
            # code sizes differ (assemblers pick short displacements); data sizes may not
            size = None if is_function else s["st_size"]
            out.add((s.name, s["st_info"]["bind"], is_function, size, section))
    return out


@pytest.mark.parametrize("assembler", ["as", "llvm-mc"])
def test_assembled_text_defines_what_our_writer_defines(assembler: str, tmp_path: Path) -> None:
    ours = write_objects(SAMPLE, tmp_path / "ours")
    theirs = write_objects(SAMPLE, tmp_path / assembler, assembler)
    for a, b in zip(ours, theirs, strict=True):
        assert _symbols(a) == _symbols(b)


@pytest.mark.parametrize("assembler", ["as", "llvm-mc"])
def test_a_direct_call_to_a_weak_function_keeps_its_relocation(assembler: str,
                                                               tmp_path: Path) -> None:
    """Another object may override the weak definition: the assembler must not resolve
    the call itself, even though the callee sits in the same section."""
    from fuzz.model import (
        Binding,
        Call,
        CallVia,
        Function,
        ObjectModel,
        Program,
        Section,
        SectionKind,
    )

    text = (Section(".text", SectionKind.TEXT, 16),)
    program = Program((ObjectModel("o0", text, functions=(
        Function("lh_main", Binding.GLOBAL, ".text", 1, 0, (Call("lh_f1", CallVia.DIRECT),)),
        Function("lh_f1", Binding.WEAK, ".text", 1, 0, ()))),), (1,))
    (obj,) = write_objects(program, tmp_path, assembler)
    elf = ELFFile(io.BytesIO(obj.read_bytes()))
    rela: Any = elf.get_section_by_name(".rela.text")
    symtab: Any = elf.get_section_by_name(".symtab")
    targets = {(r["r_info_type"], symtab.get_symbol(r["r_info_sym"]).name)
               for r in rela.iter_relocations()}
    assert (2, "lh_f1") in targets  # R_X86_64_PC32 against the weak symbol


@pytest.mark.parametrize("assembler", ["as", "llvm-mc"])
def test_a_got_load_of_a_static_function_names_the_symbol(assembler: str,
                                                          tmp_path: Path) -> None:
    """A GOT slot belongs to a symbol: the relocation must not become section+offset."""
    from fuzz.model import (
        Binding,
        Call,
        CallVia,
        Function,
        ObjectModel,
        Program,
        Section,
        SectionKind,
    )

    text = (Section(".text", SectionKind.TEXT, 16),)
    program = Program((ObjectModel("o0", text, functions=(
        Function("lh_main", Binding.GLOBAL, ".text", 1, 0,
                 (Call("lh_s0", CallVia.GOT_LOAD_STRICT),)),
        Function("lh_s0", Binding.LOCAL, ".text", 1, 0, ()))),), (1,))
    (obj,) = write_objects(program, tmp_path, assembler)
    elf = ELFFile(io.BytesIO(obj.read_bytes()))
    rela: Any = elf.get_section_by_name(".rela.text")
    symtab: Any = elf.get_section_by_name(".symtab")
    got = [symtab.get_symbol(r["r_info_sym"]).name for r in rela.iter_relocations()
           if r["r_info_type"] in (9, 41, 42)]
    assert got == ["lh_s0"]
