"""TLS descriptors (-mtls-dialect=gnu2) sit in GNU ld's .rela.plt beside the JUMP_SLOTs:
glibc's elf_machine_lazy_rel resolves R_X86_64_TLSDESC and R_386_TLS_DESC there.

Found by the outside hostile campaign (the checker run over every ELF file on the host):
ELF-REL-JUMPSLOT called the distribution's libEGL_mesa.so.0, which runs, invalid for its
TLSDESC in the DT_JMPREL range."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oracle.check import check

SOURCE = "__thread int tv;\nint get(void) { return tv; }\n"


@pytest.mark.parametrize("bits", ["-m64", "-m32"])
def test_gnu_ld_tlsdesc_in_the_plt_range_is_valid(bits: str, tmp_path: Path) -> None:
    (tmp_path / "td.c").write_text(SOURCE)
    lib = tmp_path / "td.so"
    subprocess.run(["gcc", bits, "-fPIC", "-mtls-dialect=gnu2", "-shared", "-Wl,-soname,td.so",
                    "-o", str(lib), str(tmp_path / "td.c")], check=True)
    relocs = subprocess.run(["readelf", "-rW", str(lib)], capture_output=True, text=True,
                            check=True).stdout
    plt = relocs[relocs.index(".rel.plt" if bits == "-m32" else ".rela.plt"):]
    assert "TLS_DESC" in plt or "TLSDESC" in plt  # the case this test is about
    assert [v for v in check(lib) if v.severity != "warning"] == []


def test_another_type_in_the_plt_range_is_still_a_violation(tmp_path: Path) -> None:
    (tmp_path / "td.c").write_text(SOURCE)
    lib = tmp_path / "td.so"
    subprocess.run(["gcc", "-fPIC", "-mtls-dialect=gnu2", "-shared", "-Wl,-soname,td.so",
                    "-o", str(lib), str(tmp_path / "td.c")], check=True)
    data = bytearray(lib.read_bytes())
    at = data.find((0x24).to_bytes(4, "little") + (5).to_bytes(4, "little"))  # r_info
    assert at > 0
    data[at:at + 4] = (16).to_bytes(4, "little")  # R_X86_64_DTPMOD64: not lazily bound
    lib.write_bytes(bytes(data))
    assert "ELF-REL-JUMPSLOT" in {v.rule for v in check(lib)}
