"""A GOT load of an absolute symbol (SHN_ABS) in a PIE: its slot holds the value and takes
no dynamic relocation (a RELATIVE would add the load bias to a number that is not an
address).  lld and linkharness keep the GOT load; GNU ld relaxes it to an immediate.

Found by the outside hostile campaign: the field oracle asked for a RELATIVE on every GOT
word of a PIE, and called lld's and linkharness's correct slot 'no GOT slot for absval'."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import link
from oracle import check_fields

SOURCE = """\
        .text
        .globl _start
_start: movq absval@GOTPCREL(%rip), %rax
        ret
        .globl absval
        .set absval, 0x1234
"""


@pytest.fixture
def obj(tmp_path: Path) -> Path:
    (tmp_path / "abs.s").write_text(SOURCE)
    subprocess.run(["as", "--64", "-o", str(tmp_path / "abs.o"),
                    str(tmp_path / "abs.s")], check=True)
    return tmp_path / "abs.o"


def _linked(linker: str, obj: Path, out: Path) -> None:
    if linker == "linkharness":
        link([obj], out, pie=True)
    else:
        subprocess.run([linker, "-pie", "-o", str(out), str(obj)], check=True)


@pytest.mark.parametrize("linker", ["linkharness", "ld.lld-14", "ld"])
def test_an_absolute_symbols_got_slot_in_a_pie_is_judged_right(
        linker: str, obj: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.out"
    _linked(linker, obj, out)
    assert check_fields(str(out), [str(obj)]) == []


def test_an_absolute_symbols_got_slot_holding_another_value_is_a_mismatch(
        obj: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.out"
    link([obj], out, pie=True)
    with out.open("rb") as handle:
        got = ELFFile(handle).get_section_by_name(".got")
        assert got is not None
        at = got["sh_offset"]
    data = bytearray(out.read_bytes())
    assert int.from_bytes(data[at:at + 8], "little") == 0x1234
    data[at:at + 8] = (0x1235).to_bytes(8, "little")
    out.write_bytes(bytes(data))
    [mismatch] = check_fields(str(out), [str(obj)])
    assert "no GOT slot for absval" in str(mismatch)


START_STOP = """\
struct ent { int v; };
static const struct ent __attribute__((used, section("myreg"))) a = {1}, b = {2};
extern const struct ent __start_myreg[], __stop_myreg[];
long count(void) { return __stop_myreg - __start_myreg; }
"""


def test_a_linker_defined_start_symbols_got_slot_in_a_pie_takes_its_relative(
        tmp_path: Path) -> None:
    """__start_SEC is an address (relocated in a PIE) though linkharness's .symtab gives it
    SHN_ABS: only the input's own SHN_ABS makes a symbol absolute to the oracle.  Found by
    the same campaign: the first version of this rule read the output's SHN_ABS and called
    a -mcmodel=large GOT64 load of __start_myreg wrong."""
    (tmp_path / "ss.c").write_text(START_STOP)
    obj = tmp_path / "ss.o"
    subprocess.run(["gcc", "-mcmodel=large", "-fPIE", "-c", "-o", str(obj),
                    str(tmp_path / "ss.c")], check=True)
    relocs = subprocess.run(["readelf", "-rW", str(obj)], capture_output=True, text=True,
                            check=True).stdout
    assert "R_X86_64_GOT64" in relocs and "__start_myreg" in relocs
    out = tmp_path / "a.out"
    link([obj], out, pie=True, entry="count")
    assert check_fields(str(out), [str(obj)]) == []
