"""R_386_GOTOFF in debug information: gcc -m32 -fPIC -O2 -g describes some call-site
parameters as a spilled GOT pointer plus `.LCn@GOTOFF` (libyaml's emitter.c, built with
-ffunction-sections, has one), so `.debug_info` holds S + A - GOT fields.  GNU ld fills them;
linkharness refused the object ("type 9 is not valid in a non-allocated section").

Our own assembly stands for gcc's: a function reaching `msg` through the GOT base, and a
`.debug_info` with two such fields.  Each is linked by GNU ld and by linkharness, as a shared
object and as a PIE, and each field must hold msg's distance from _GLOBAL_OFFSET_TABLE_.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from linker.api import link
from oracle.relocs.check import check_fields_report

SOURCE = """
	.text
	.globl	get
	.type	get, @function
get:
	call	.Lpc
.Lpc:	popl	%eax
	addl	$_GLOBAL_OFFSET_TABLE_+[.-.Lpc], %eax
	leal	msg@GOTOFF(%eax), %eax
	ret
	.size	get, .-get
	.globl	_start
_start:
	ret
	.section	.rodata
	.type	msg, @object
msg:	.string	"in the GOT's reach"
	.section	.debug_info,"",@progbits
	.long	msg@GOTOFF
	.long	msg+4@GOTOFF
	.section	.note.GNU-stack,"",@progbits
"""


def _fields_and_expected(path: Path) -> tuple[list[int], list[int]]:
    with path.open("rb") as f:
        elf = ELFFile(f)
        info = elf.get_section_by_name(".debug_info")
        symtab = elf.get_section_by_name(".symtab")
        assert info is not None and isinstance(symtab, SymbolTableSection)
        data = info.data()
        values = {s.name: int(s["st_value"]) for s in symtab.iter_symbols()}
        got, msg = values["_GLOBAL_OFFSET_TABLE_"], values["msg"]
        fields = [int.from_bytes(data[i:i + 4], "little", signed=True) for i in (0, 4)]
        return fields, [msg - got, msg + 4 - got]


@pytest.mark.parametrize("kind", ["-shared", "-pie"])
def test_gotoff_in_debug_info_as_gnu_ld(tmp_path: Path, kind: str) -> None:
    (tmp_path / "d.s").write_text(SOURCE)
    obj = tmp_path / "d.o"
    subprocess.run(["as", "--32", str(tmp_path / "d.s"), "-o", str(obj)], check=True)
    gnu, ours = tmp_path / "gnu", tmp_path / "ours"
    subprocess.run(["ld", "-m", "elf_i386", kind, str(obj), "-o", str(gnu)], check=True)
    link([str(obj)], str(ours), target="elf32-i386", shared=kind == "-shared",
         pie=kind == "-pie")
    for out in (gnu, ours):
        fields, expected = _fields_and_expected(out)
        assert fields == expected, out.name


def test_field_oracle_judges_gotoff_in_debug_info(tmp_path: Path) -> None:
    """The field oracle recomputes these fields (S + A - GOT) instead of skipping them, on
    GNU ld's output and ours, and names a field that is off by a word."""
    (tmp_path / "d.s").write_text(SOURCE)
    obj = tmp_path / "d.o"
    subprocess.run(["as", "--32", str(tmp_path / "d.s"), "-o", str(obj)], check=True)
    gnu, ours = tmp_path / "gnu.so", tmp_path / "ours.so"
    subprocess.run(["ld", "-m", "elf_i386", "-shared", str(obj), "-o", str(gnu)], check=True)
    link([str(obj)], str(ours), target="elf32-i386", shared=True)
    for out in (gnu, ours):
        report = check_fields_report(str(out), [str(obj)])
        debug = [c for c in report.confirmed if c.section == ".debug_info"]
        assert not report.mismatches and len(debug) == 2, out.name
        assert all(c.formula == "S + A - GOT" for c in debug)
    with ELFFile(ours.open("rb")) as elf:
        info = elf.get_section_by_name(".debug_info")
        assert info is not None
        at = int(info["sh_offset"]) + 4
    data = bytearray(ours.read_bytes())
    data[at:at + 4] = (int.from_bytes(data[at:at + 4], "little") + 4 & 0xFFFFFFFF).to_bytes(
        4, "little")
    ours.write_bytes(bytes(data))
    report = check_fields_report(str(ours), [str(obj)])
    assert [(m.section, m.offset) for m in report.mismatches] == [(".debug_info", 4)]
