"""Universal (fat) executables under the oracle: `linkharness check` applies the fat
header's rules and checks every x86_64/i386 slice (violations name their slice), `--arch`
picks one; `linkharness run` and `fields` take the slice `--arch` names (x86_64 first by
default).  The fat files are made by llvm-lipo-14 from linkharness's two outputs; each fat
rule is shown to fire on a header mutated to break it."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from linker import link
from oracle.check import check
from oracle.check.macho import FAT_RULES, MACHO_RULES, check_macho

INCLUDE = Path(__file__).parents[2] / "macho_include"
SOURCE = r"""
#include <stdio.h>
int main(void) { printf("%d-bit\n", (int)sizeof(void *) * 8); return (int)sizeof(void *); }
"""
TRIPLES = {"x86_64": "x86_64-apple-macosx10.9", "i386": "i386-apple-macosx10.6"}
TARGETS = {"x86_64": "macho-x86_64", "i386": "macho-i386"}
RECORD = 20  # sizeof(struct fat_arch)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oracle.cli", *args], capture_output=True,
                          text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fat-exe")
    (root / "p.c").write_text(SOURCE)
    out: dict[str, Path] = {}
    for arch, triple in TRIPLES.items():
        obj = root / f"p-{arch}.o"
        subprocess.run(["clang-14", f"--target={triple}", "-nostdlibinc", "-isystem",
                        str(INCLUDE), "-c", "-o", str(obj), str(root / "p.c")], check=True)
        out[f"obj-{arch}"] = obj
        out[arch] = root / f"p-{arch}"
        link([obj, "-lSystem"], out[arch], target=TARGETS[arch])
    lipo = shutil.which("llvm-lipo-14")
    assert lipo, "llvm-lipo-14 comes with llvm-14, a reference tool"
    for name, kind in (("fat", ""), ("fat-obj", "obj-")):
        out[name] = root / name
        subprocess.run([lipo, "-create", "-arch", "x86_64", str(out[f"{kind}x86_64"]),
                        "-arch", "i386", str(out[f"{kind}i386"]), "-output", str(out[name])],
                       check=True)
    return out


def records(data: bytes) -> list[list[int]]:
    return [list(struct.unpack_from(">5I", data, 8 + RECORD * i))
            for i in range(struct.unpack_from(">I", data, 4)[0])]


def with_records(data: bytes, recs: list[list[int]]) -> bytes:
    out = bytearray(data)
    for i, r in enumerate(recs):
        struct.pack_into(">5I", out, 8 + RECORD * i, *r)
    return bytes(out)


def test_every_slice_is_checked_and_clean(built: dict[str, Path]) -> None:
    assert check(built["fat"]) == []
    done = _cli("check", str(built["fat"]))
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == f"ok: {len(FAT_RULES) + 2 * len(MACHO_RULES)} rules checked"
    done = _cli("check", "--arch", "i386", str(built["fat"]))
    assert done.stdout.strip() == f"ok: {len(FAT_RULES) + len(MACHO_RULES)} rules checked"


def test_a_slice_violation_names_its_slice(built: dict[str, Path]) -> None:
    data = bytearray(built["fat"].read_bytes())
    i386 = next(r for r in records(bytes(data)) if r[0] == 7)
    struct.pack_into("<I", data, i386[2] + 12, 7)  # the i386 slice's filetype: MH_DYLINKER
    found = check_macho(bytes(data))
    assert [v.rule for v in found] == ["MACHO-HEADER"]
    assert found[0].where == "slice i386: filetype"
    assert check_macho(bytes(data), "x86_64") == []  # --arch x86_64 does not look at it
    missing = check_macho(bytes(data), "arm64")
    assert [(v.rule, v.what) for v in missing] == [
        ("MACHO-FAT-ARCH", "no arm64 slice (slices present: x86_64, i386)")]


def _mutations(data: bytes) -> dict[str, bytes]:
    recs = records(data)
    first, second = recs
    k = next(k for k in range(1, 16) if first[2] % (1 << k))
    return {
        "MACHO-FAT-HEADER": data[:12],
        "MACHO-FAT-RANGE": with_records(data, [first, [*second[:3], len(data), second[4]]]),
        "MACHO-FAT-ALIGN": with_records(data, [[*first[:4], k], second]),
        "MACHO-FAT-OVERLAP": with_records(data, [first, [*second[:2], first[2] + 0x10,
                                                         *second[3:]]]),
        "MACHO-FAT-UNIQUE": with_records(data, [first, [*first[:2], *second[2:]]]),
        "MACHO-FAT-SLICE-CPU": with_records(data, [[*second[:2], *first[2:]],
                                                   [*first[:2], *second[2:]]]),
    }


@pytest.mark.parametrize("rule", [r.id for r in FAT_RULES])
def test_each_fat_rule_fires_on_its_mutation(built: dict[str, Path], rule: str) -> None:
    mutated = _mutations(built["fat"].read_bytes())[rule]
    found = {v.rule for v in check_macho(mutated)}
    assert rule in found, found


def test_run_takes_the_arch_slice(built: dict[str, Path]) -> None:
    default = _cli("run", str(built["fat"]))
    assert (default.stdout, default.returncode) == ("64-bit\n", 8)
    i386 = _cli("run", "--arch", "i386", str(built["fat"]))
    assert (i386.stdout, i386.returncode) == ("32-bit\n", 4)
    absent = _cli("run", "--arch", "arm64", str(built["fat"]))
    assert absent.returncode == 2
    assert "no arm64 slice (slices present: x86_64, i386)" in absent.stderr


@pytest.mark.parametrize("arch", ["x86_64", "i386"])
def test_fields_take_the_arch_slice_of_output_and_inputs(built: dict[str, Path],
                                                         arch: str) -> None:
    done = _cli("fields", "--arch", arch, str(built["fat"]), str(built["fat-obj"]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fields confirmed, 0 mismatches" in done.stdout, done.stdout
