"""x86-64 SUBTRACTOR pairs whose UNSIGNED minuend is non-extern (a local label in another
section): llvm-mc-14 leaves the minuend's object address plus the addend in the field
(`.quad L_x + 4 - _t` holds L_x + 4, not L_x + 4 - _t), and the linked value is that
address moved with its section, minus T.  Judged on linkharness and ld64.lld-14 links,
whose layouts differ."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import link
from oracle.emulate.macho import image as mi
from oracle.macho_relocs import check_macho_fields
from oracle.macho_relocs_inputs import read_object

SOURCE = """
    .text
    .globl _main
_main:
    xorl %eax, %eax
    retq
    .section __DATA,__other
    .quad 7
L_x: .quad 0
    .data
    .globl _t
    .quad 5
_t: .quad 0
    .quad L_x - _t
    .quad L_x + 4 - _t
    .long L_x - _t
"""
TBD = Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"


@pytest.fixture(scope="module")
def obj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("subtractor")
    (out / "s.s").write_text(SOURCE)
    subprocess.run(["llvm-mc-14", "-triple=x86_64-apple-macosx10.9", "-filetype=obj",
                    str(out / "s.s"), "-o", str(out / "s.o")], check=True, capture_output=True)
    return out / "s.o"


def test_the_field_holds_the_minuend_address(obj: Path) -> None:
    o = read_object(obj)
    other = next(s for s in o.sections if s.sectname == "__other")
    fields = sorted((r.offset, o.inplace(r, signed=False)) for r in o.relocs)
    assert all(r.subtrahend is not None and not r.target.extern for r in o.relocs)
    assert fields == [(0x10, other.addr + 8), (0x18, other.addr + 12), (0x20, other.addr + 8)]


@pytest.mark.parametrize("linker", ["linkharness", "ld64.lld"])
def test_linked_values_confirmed_and_a_wrong_one_reported(obj: Path, linker: str) -> None:
    exe = obj.with_name(f"s.{linker}")
    if linker == "linkharness":
        link([str(obj), "-lSystem"], exe, target="macho-x86_64")
    else:
        subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                        "11.0", "-o", str(exe), str(obj), str(TBD)], check=True,
                       capture_output=True)
    report = check_macho_fields(exe, [obj])
    assert report.mismatches == () and report.checked == 3, str(report)
    site = report.confirmed[0]
    img = mi.parse(exe.read_bytes())
    seg = img.segment_at(site.field)
    assert seg is not None
    bad = bytearray(exe.read_bytes())
    bad[seg.fileoff + site.field - seg.vmaddr] ^= 0x20
    exe.with_suffix(".bad").write_bytes(bytes(bad))
    [mismatch] = check_macho_fields(exe.with_suffix(".bad"), [obj]).mismatches
    assert mismatch.kind == "value" and mismatch.address == site.field
