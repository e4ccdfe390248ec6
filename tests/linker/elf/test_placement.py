"""linker/elf/placement.py: -Ttext/-Tdata/-Tbss/--section-start and --sort-section, next to
GNU ld on the same objects: the named section lands at the address in both outputs, the
program runs, and --sort-section orders functions as GNU ld orders them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import shim_dir
from oracle import check

PROGRAM = r"""#include <stdio.h>
const char message[] = "placed";
int counter = 3;
int zeroes[16];
__attribute__((aligned(64))) int big_b(void) { return 2; }
__attribute__((aligned(4))) int a_small(void) { return 1; }
__attribute__((aligned(32))) int c_mid(void) { return 3; }
int main(void) { zeroes[3] = counter; printf("%s %d\n", message, a_small() + big_b() + c_mid() + zeroes[3]); return 0; }
"""


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("place")
    (d / "p.c").write_text(PROGRAM)
    made = {}
    for m32 in (False, True):
        obj = d / f"p{'32' if m32 else '64'}.o"
        subprocess.run(["gcc", *(["-m32"] if m32 else []), "-O1", "-fno-pie",
                        "-ffunction-sections", "-c", str(d / "p.c"), "-o", str(obj)], check=True)
        made[obj.stem] = obj
    return made


def _link(obj: Path, out: Path, flags: list[str], ours: bool) -> Path:
    m = ["-m32"] if obj.stem.endswith("32") else []
    shim = [f"-B{shim_dir()}"] if ours else []
    subprocess.run(["gcc", *m, "-no-pie", *shim, str(obj), "-o", str(out),
                    *(f"-Wl,{f}" for f in flags)], check=True)
    return out


def _addresses(path: Path) -> dict[str, int]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        out = {s.name: s["sh_addr"] for s in elf.iter_sections()}
        symtab = elf.get_section_by_name(".symtab")
        out.update({s.name: s["st_value"] for s in symtab.iter_symbols()
                    if s.name in ("a_small", "big_b", "c_mid")})
        return out


# Addresses as distances past the image base (0x400000 on x86-64, 0x8048000 on i386).
PLACEMENTS = [
    (["-Ttext={}"], ".text", 0x100000),
    (["-Tdata={}"], ".data", 0x300000),
    (["-Tbss={}"], ".bss", 0x400000),
    (["--section-start=.rodata={}"], ".rodata", 0x200000),
    (["-Ttext=0x{:x}", "-Tbss={}"], ".bss", 0x500000),
]
BASE = {"p64": 0x400000, "p32": 0x8048000}


@pytest.mark.parametrize("arch", ["p64", "p32"])
@pytest.mark.parametrize("flags,name,address", PLACEMENTS,
                         ids=[" ".join(p[0]) for p in PLACEMENTS])
def test_section_lands_where_gnu_ld_puts_it(flags: list[str], name: str, address: int,
                                             arch: str, objects: dict[str, Path],
                                             tmp_path: Path) -> None:
    obj = objects[arch]
    address += BASE[arch]
    flags = [f.format(hex(address)) if "{}" in f else f.format(BASE[arch] + 0x100000)
             for f in flags]
    ref = _link(obj, tmp_path / "ref", flags, ours=False)
    ours = _link(obj, tmp_path / "ours", flags, ours=True)
    assert _addresses(ref)[name] == _addresses(ours)[name] == address
    assert subprocess.run([str(ours)], capture_output=True, text=True,
                          check=True).stdout == "placed 9\n"
    assert [str(v) for v in check(str(ours))] == []


@pytest.mark.parametrize("order", ["name", "alignment"])
def test_sort_section_orders_functions_as_gnu_ld(order: str, objects: dict[str, Path],
                                                 tmp_path: Path) -> None:
    flags = [f"--sort-section={order}"]
    orders = []
    for ours in (False, True):
        addresses = _addresses(_link(objects["p64"], tmp_path / f"o{ours}", flags, ours))
        orders.append(sorted(("a_small", "big_b", "c_mid"), key=addresses.__getitem__))
    assert orders[0] == orders[1]
    assert orders[1] == (["a_small", "big_b", "c_mid"] if order == "name"
                         else ["big_b", "c_mid", "a_small"])


def test_an_address_below_what_precedes_it_is_refused(objects: dict[str, Path],
                                                      tmp_path: Path) -> None:
    done = subprocess.run(["gcc", "-no-pie", f"-B{shim_dir()}", str(objects["p64"]), "-o",
                           str(tmp_path / "x"), "-Wl,-Tdata=0x1000"],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "is below" in done.stderr
    assert not (tmp_path / "x").exists()


UNIQUE_A = '__attribute__((section("mysec"))) int x1 = 1;\n' \
    '__attribute__((section(".other"))) int y1 = 2;\nint f1(void) { return x1 + y1; }\n'
UNIQUE_B = '__attribute__((section("mysec"))) int x2 = 3;\n' \
    '__attribute__((section(".other"))) int y2 = 4;\nint f1(void);\n' \
    'int main(void) { return f1() + x2 + y2; }\n'


def test_unique_splits_orphan_sections_as_gnu_ld(tmp_path: Path) -> None:
    for name, text in (("u1.c", UNIQUE_A), ("u2.c", UNIQUE_B)):
        (tmp_path / name).write_text(text)
    subprocess.run(["gcc", "-c", "u1.c", "u2.c"], cwd=tmp_path, check=True)
    names = []
    for extra in ([], [f"-B{shim_dir()}"]):
        out = tmp_path / f"u{len(extra)}"
        subprocess.run(["gcc", *extra, "u1.o", "u2.o", "-o", str(out), "-Wl,-unique"],
                       cwd=tmp_path, check=True)
        assert subprocess.run([str(out)], check=False).returncode == 10
        with open(out, "rb") as f:
            names.append([s.name for s in ELFFile(f).iter_sections()
                          if s.name in ("mysec", ".other")])
    assert names[0] == names[1] == ["mysec", ".other", "mysec", ".other"]
