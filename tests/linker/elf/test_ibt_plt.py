"""When linkharness writes the IBT PLT (linker/elf/ibt_plt.py): as GNU ld, with `-z ibtplt`,
with `-z ibt`, or when every input object is marked IBT in its .note.gnu.property; never
otherwise.  The output's sections and its PLT pass the structural checker's PLT rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import link
from linker.elf.gnu_property import FEATURE_1_IBT, X86_FEATURE_1_AND
from oracle.check import check


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ibt")
    (root / "lib.c").write_text("int f(void) { return 1; }\n")
    (root / "main.c").write_text("extern int f(void);\nint g(void) { return f() + 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(root / "libf.so"), str(root / "lib.c")],
                   check=True)
    out = {"lib": root / "libf.so"}
    for flavour in ("full", "none"):
        obj = root / f"main-{flavour}.o"
        subprocess.run(["gcc", f"-fcf-protection={flavour}", "-fno-pie", "-c", "-o", str(obj),
                        str(root / "main.c")], check=True)
        out[flavour] = obj
    return out


@pytest.mark.parametrize("flavour,options,ibt", [
    ("full", {}, True), ("none", {}, False), ("none", {"ibt_plt": True}, True),
    ("none", {"z_properties": {X86_FEATURE_1_AND: FEATURE_1_IBT}}, True),
])
def test_ibt_plt_when_gnu_ld_writes_it(inputs: dict[str, Path], tmp_path: Path, flavour: str,
                                       options: dict[str, object], ibt: bool) -> None:
    out = tmp_path / "out"
    link([str(inputs[flavour]), str(inputs["lib"])], out, entry="g", **options)  # type: ignore[arg-type]
    with open(out, "rb") as f:
        names = [s.name for s in ELFFile(f).iter_sections()]
    assert (".plt.sec" in names) == ibt
    assert ".plt" in names
    assert check(str(out)) == []
