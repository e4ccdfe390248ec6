"""The ELF writer's output, read back with pyelftools and checked by readelf: section and
symbol table conventions, relocations, COMDAT groups, COMMON and absolute symbols."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

from elftools.elf.elffile import ELFFile

from fuzz.assemble_x86 import assemble
from fuzz.emit_elf import write_elf
from fuzz.lower_x86 import lower
from fuzz.model import (
    AbsSymbol,
    AddrVia,
    Binding,
    Call,
    CallVia,
    Const,
    DataItem,
    Function,
    Load,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
)

PROGRAM = Program((
    ObjectModel("o0", (Section(".text", SectionKind.TEXT, 16),
                       Section(".text.lh_f1", SectionKind.TEXT, 16, group="lh_f1"),
                       Section(".rodata", SectionKind.RODATA, 4096),
                       Section(".bss", SectionKind.BSS, 8)),
                functions=(
                    Function("lh_main", Binding.GLOBAL, ".text", 16, 1, (
                        Call("lh_s2", CallVia.DIRECT), Call("lh_f1", CallVia.PLT),
                        Load("lh_w0", 1, AddrVia.PC_REL), Load("lh_z", 0, AddrVia.ABS_S32))),
                    Function("lh_s2", Binding.LOCAL, ".text", 16, 2, ()),
                    Function("lh_f1", Binding.GLOBAL, ".text.lh_f1", 1, 3, ())),
                data=(DataItem("lh_w0", Binding.LOCAL, ".rodata", 4,
                               (Const(4, 5), Ref(1, "lh_k0", 2))),
                      DataItem("lh_z", Binding.WEAK, ".bss", 8, (Const(4, 0),)),
                      DataItem("lh_c", Binding.GLOBAL, None, 32, (Const(4, 0), Const(4, 0)))),
                absolutes=(AbsSymbol("lh_k0", 0x20),)),
    ObjectModel("o1", (Section(".text", SectionKind.TEXT, 1),)),
), (1, 2))


def _sec(elf: ELFFile, name: str) -> Any:
    found = elf.get_section_by_name(name)
    assert found is not None, name
    return found


def _any(x: object) -> Any:
    return x


def _elf() -> ELFFile:
    return ELFFile(io.BytesIO(write_elf(assemble(lower(PROGRAM)[0]))))


def test_symbol_table_puts_locals_first_and_says_where_globals_start() -> None:
    symtab = _sec(_elf(), ".symtab")
    binds = [s["st_info"]["bind"] for s in symtab.iter_symbols()]
    first_global = symtab["sh_info"]
    assert all(b == "STB_LOCAL" for b in binds[:first_global])
    assert all(b != "STB_LOCAL" for b in binds[first_global:])
    by_name = {s.name: s for s in symtab.iter_symbols()}
    assert by_name["lh_s2"]["st_info"]["bind"] == "STB_LOCAL"
    assert by_name["lh_z"]["st_info"]["bind"] == "STB_WEAK"
    assert by_name["lh_c"]["st_shndx"] == "SHN_COMMON" and by_name["lh_c"]["st_value"] == 32
    assert by_name["lh_k0"]["st_shndx"] == "SHN_ABS" and by_name["lh_k0"]["st_value"] == 0x20


def test_static_references_are_section_relative() -> None:
    elf = _elf()
    symtab = _sec(elf, ".symtab")
    rela = _sec(elf, ".rela.rodata")
    (r,) = list(rela.iter_relocations())
    assert r["r_info_type"] == 14 and symtab.get_symbol(r["r_info_sym"]).name == "lh_k0"
    text_relocs = list(_sec(elf, ".rela.text").iter_relocations())
    pc32 = [r for r in text_relocs if r["r_info_type"] == 2]
    targets = {symtab.get_symbol(r["r_info_sym"])["st_info"]["type"] for r in pc32}
    assert targets == {"STT_SECTION"}  # the static function and the static data item
    helper = next(s for s in symtab.iter_symbols() if s.name == "lh_s2")["st_value"]
    # the call to the static function: .text + (its offset - 4); the load of field 1
    # (offset 4) of the static data item at .rodata+0: .rodata + (4 - 4)
    assert sorted(r["r_addend"] for r in pc32) == sorted([helper - 4, 0])
    assert helper > 0


def test_comdat_group_lists_its_section_and_names_its_signature() -> None:
    elf = _elf()
    group = _sec(elf, ".group")
    members = [int.from_bytes(group.data()[i:i + 4], "little")
               for i in range(0, group.data_size, 4)]
    assert members[0] == 1  # GRP_COMDAT
    assert [elf.get_section(i).name for i in members[1:]] == [".text.lh_f1"]
    signature = _any(elf.get_section(group["sh_link"])).get_symbol(group["sh_info"])
    assert signature.name == "lh_f1"
    assert _sec(elf, ".text.lh_f1")["sh_flags"] & 0x200


def test_alignment_nobits_and_the_stack_note() -> None:
    elf = _elf()
    assert _sec(elf, ".rodata")["sh_addralign"] == 4096
    bss = _sec(elf, ".bss")
    assert bss["sh_type"] == "SHT_NOBITS" and bss["sh_size"] == 4
    assert _sec(elf, ".note.GNU-stack") is not None
    assert elf["e_type"] == "ET_REL" and elf["e_machine"] == "EM_X86_64"


def test_readelf_reads_it_without_complaint(tmp_path: Path) -> None:
    obj = tmp_path / "o0.o"
    obj.write_bytes(write_elf(assemble(lower(PROGRAM)[0])))
    proc = subprocess.run(["readelf", "-aW", str(obj)], capture_output=True, text=True,
                          check=True)
    assert proc.stderr == "" and "R_X86_64_PLT32" in proc.stdout
