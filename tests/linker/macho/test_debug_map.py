"""The Mach-O debug map (issue 18, item 2): the stabs that send dsymutil to the objects' DWARF.

The user's view: a `-g` program linked by us, then `dsymutil` and `llvm-dwarfdump --lookup`
give each function's file and line, on x86_64 and i386, as they do for ld64.lld's output
of the same objects (x86_64; ld64.lld-14 has no i386).  The map itself is read back with
`dsymutil -s` and compared with ld64's layout (directory and file N_SO, N_OSO with the
path and mtime, N_BNSYM/N_FUN/N_FUN/N_ENSYM, N_GSYM/N_STSYM, the closing N_SO).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import LinkError, link
from oracle.check import check

ROOT = Path(__file__).parents[3]
TBD = ROOT / "linker/macho/data/libSystem.tbd"
MACHO_INCLUDE = ROOT / "macho_include"
TRIPLE, I386_TRIPLE = "x86_64-apple-macosx10.9", "i386-apple-macosx10.6"

MAIN = """\
int g_data = 3;
static int s_data = 4;
static int helper(int x) {
    return x + s_data;
}
int other(int);
int main(int argc, char **argv) {
    return helper(argc) + other(g_data);
}
"""
OTHER = """\
int b_global;
int other(int x) {
    b_global = x;
    return x * 2;
}
"""
# Each function's first line, where dwarfdump's lookup of its address must land.
LINES = {"_main": ("a.c", 7), "_helper": ("a.c", 3), "_other": ("b.c", 2)}
STAB = re.compile(r"\] [0-9a-f]{8} ([0-9a-f]{2}) \((N_\w+)\s*\) ([0-9a-f]{2})\s+([0-9a-f]{4})\s+"
                  r"([0-9a-f]+)(?: '(.*)')?$")


def _stabs(path: Path) -> list[tuple[str, int, int, int, str]]:
    """(type, n_sect, n_desc, n_value, name) of each stab, as `dsymutil -s` prints them."""
    out = subprocess.run(["dsymutil-14", "-s", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return [(m[2], int(m[3], 16), int(m[4], 16), int(m[5], 16), m[6] or "")
            for line in out.splitlines() if (m := STAB.search(line))]


def _line_of(dsym: Path, address: int) -> tuple[str, int]:
    out = subprocess.run(["llvm-dwarfdump-14", f"--lookup={address:#x}", str(dsym)],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"Line info: file '([^']+)', line (\d+)", out)
    assert m, f"no line for {address:#x} in {dsym}:\n{out}"
    return m[1], int(m[2])


def _dsym(exe: Path) -> Path:
    dsym = exe.with_suffix(".dSYM")
    run = subprocess.run(["dsymutil-14", str(exe), "-o", str(dsym)], check=False,
                         capture_output=True, text=True)
    assert run.returncode == 0 and "warning" not in run.stderr, run.stderr
    return dsym


def _functions(stabs: list[tuple[str, int, int, int, str]]) -> dict[str, int]:
    return {name: value for kind, _, _, value, name in stabs if kind == "N_FUN" and name}


@pytest.fixture(scope="module", params=["x86_64", "i386"])
def objects(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[str, Path, Path, int]:
    """(arch, a.o, libb.a holding b.o, b.o's mtime), compiled -g -O0 as a user would: in
    the sources' directory (the unit's DW_AT_comp_dir) with relative names."""
    arch = request.param
    root = tmp_path_factory.mktemp(f"debug-{arch}")
    (root / "a.c").write_text(MAIN)
    (root / "b.c").write_text(OTHER)
    triple = TRIPLE if arch == "x86_64" else I386_TRIPLE
    for name in ("a", "b"):
        subprocess.run(["clang-14", f"--target={triple}", "-nostdlibinc", "-isystem",
                        str(MACHO_INCLUDE), "-g", "-O0", "-c", f"{name}.c", "-o", f"{name}.o"],
                       check=True, cwd=root)
    mtime = int((root / "b.o").stat().st_mtime)
    subprocess.run(["llvm-ar-14", "rcsU", "libb.a", "b.o"], check=True, cwd=root)
    (root / "b.o").unlink()  # dsymutil must read it from the archive
    return arch, root / "a.o", root / "libb.a", mtime


def _link(arch: str, inputs: list[Path], out: Path, strip_debug: bool = False) -> Path:
    target = "macho-x86_64" if arch == "x86_64" else "macho-i386"
    version = (0x000A0900, 0x000B0000) if arch == "x86_64" else (0x000A0600, 0x000B0000)
    link([*map(str, inputs), "-lSystem"], out, target=target, platform_version=version,
         strip_debug=strip_debug)
    return out


def test_map_layout_as_ld64_writes_it(objects: tuple[str, Path, Path, int],
                                      tmp_path: Path) -> None:
    arch, main, lib, member_mtime = objects
    stabs = _stabs(_link(arch, [main, lib], tmp_path / "exe"))
    kinds = [s[0] for s in stabs]
    # the opening N_SO, then two units, each: dir, file, object, 4 entries per function,
    # 1 per variable, end
    function = ["N_BNSYM", "N_FUN", "N_FUN", "N_ENSYM"]
    assert kinds == ["N_SO", "N_SO", "N_SO", "N_OSO"] + function * 2 + ["N_GSYM", "N_STSYM", "N_SO"] \
        + ["N_SO", "N_SO", "N_OSO", "N_BNSYM", "N_FUN", "N_FUN", "N_ENSYM", "N_GSYM", "N_SO"]
    directory = str(main.parent.resolve()) + "/"
    assert [s[4] for s in stabs if s[0] == "N_SO"] == ["", directory, "a.c", "", directory,
                                                        "b.c", ""]
    osos = [s for s in stabs if s[0] == "N_OSO"]
    assert [s[4] for s in osos] == [str(main), f"{lib}(b.o)"]
    assert osos[0][3] == int(main.stat().st_mtime) and osos[1][3] == member_mtime
    assert all(s[1] == 3 and s[2] == 1 for s in osos)  # CPU_SUBTYPE_*_ALL, n_desc 1
    # a function's second N_FUN carries its size, N_BNSYM and N_ENSYM its address
    for n, (kind, sect, _, value, name) in enumerate(stabs):
        if kind == "N_FUN" and name:
            begin, size, end = stabs[n - 1], stabs[n + 1], stabs[n + 2]
            assert begin[0] == "N_BNSYM" and begin[3] == value and begin[1] == sect
            assert size[1] == 0 and size[3] > 0 and end[3] == value and end[1] == sect
    assert {s[4] for s in stabs if s[0] == "N_GSYM"} == {"_g_data", "_b_global"}
    assert [s[4] for s in stabs if s[0] == "N_STSYM"] == ["_s_data"]
    assert check(str(tmp_path / "exe")) == []


def test_dsymutil_finds_each_function_line(objects: tuple[str, Path, Path, int],
                                           tmp_path: Path) -> None:
    arch, main, lib, _ = objects
    exe = _link(arch, [main, lib], tmp_path / "exe")
    dsym = _dsym(exe)
    functions = _functions(_stabs(exe))
    assert set(functions) == set(LINES)
    for name, address in functions.items():
        # the middle of the function as well as its start
        assert _line_of(dsym, address) == LINES[name], name
        assert _line_of(dsym, address + 4)[0] == LINES[name][0], name


@pytest.mark.parametrize("objects", ["x86_64"], indirect=True)  # ld64.lld-14 has no i386
def test_same_map_as_ld64_lld(objects: tuple[str, Path, Path, int], tmp_path: Path) -> None:
    """ld64.lld-14 writes one N_SO (directory and file joined) and no BNSYM/ENSYM; otherwise
    its map has the same objects, functions (with their sizes) and variables, and its
    dSYM gives the same lines."""
    arch, main, lib, _ = objects
    ours = _link(arch, [main, lib], tmp_path / "ours")
    ref = tmp_path / "ref"
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                    "11.0", "-o", str(ref), str(main), str(lib), str(TBD)], check=True)

    def summary(stabs: list[tuple[str, int, int, int, str]]) -> list[tuple[str, str, int]]:
        out, pending = [], None
        for kind, _, _, value, name in stabs:
            if kind == "N_FUN" and name:
                pending = name
            elif kind == "N_FUN":
                out.append(("fun", pending or "", value))
            elif kind in ("N_GSYM", "N_STSYM", "N_OSO"):
                out.append((kind, name, value if kind == "N_OSO" else 0))
        return sorted(out)

    assert summary(_stabs(ours)) == summary(_stabs(ref))
    ours_dsym, ref_dsym = _dsym(ours), _dsym(ref)
    theirs = _functions(_stabs(ref))
    for name, address in _functions(_stabs(ours)).items():
        assert _line_of(ours_dsym, address) == _line_of(ref_dsym, theirs[name]), name


def test_strip_debug_drops_the_map(objects: tuple[str, Path, Path, int], tmp_path: Path) -> None:
    arch, main, lib, _ = objects
    out = _link(arch, [main, lib], tmp_path / "stripped", strip_debug=True)
    assert _stabs(out) == []
    kept = _link(arch, [main, lib], tmp_path / "kept")
    assert len(_stabs(kept)) > 0
    # the ld64 spelling goes the same way
    from linker.macho.cli import parse_ld64
    assert parse_ld64(["-S", "x.o"]).options["strip_debug"] is True


def test_no_dwarf_copied(objects: tuple[str, Path, Path, int], tmp_path: Path) -> None:
    """ld64's rule: the objects' __DWARF sections stay in the objects."""
    arch, main, lib, _ = objects
    out = _link(arch, [main, lib], tmp_path / "exe")
    headers = subprocess.run(["llvm-objdump-14", "--macho", "--section-headers", str(out)],
                             check=True, capture_output=True, text=True).stdout
    assert "__debug" not in headers and "__DWARF" not in headers
    without = tmp_path / "nodebug"
    _link(arch, [main, lib], without, strip_debug=True)
    assert out.stat().st_size - without.stat().st_size < 4096  # the map only


@pytest.mark.parametrize("flag", ["-gdwarf-2", "-gdwarf-4", "-gdwarf-5"])
def test_compile_unit_source_in_each_dwarf_version(flag: str, macho_cc: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    """The unit's name reaches the map whichever string form the version uses (DWARF 5:
    DW_FORM_strx1 through __debug_str_offs)."""
    obj = macho_cc(OTHER, f"unit{flag}", flag)
    out = tmp_path / "exe"
    main = macho_cc("int other(int); int main(void) { return other(1); }\n", f"m{flag}")
    link([str(main), str(obj), "-lSystem"], out, target="macho-x86_64")
    names = [s[4] for s in _stabs(out) if s[0] == "N_SO" and s[4]]
    assert names == [str(obj.parent) + "/", f"unit{flag}.c"]


def test_corrupt_debug_info_is_one_line(macho_cc: Callable[..., Path], tmp_path: Path) -> None:
    obj = macho_cc(OTHER, "corrupt", "-g")
    data = bytearray(obj.read_bytes())
    at = data.index(b"__debug_info")
    offset = int.from_bytes(data[at + 48:at + 52], "little")  # section_64.offset
    data[offset + 4:offset + 6] = (9).to_bytes(2, "little")  # DWARF version 9
    bad = tmp_path / "bad.o"
    bad.write_bytes(bytes(data))
    with pytest.raises(LinkError) as caught:
        link([str(bad), "-lSystem", "-e", "_other"], tmp_path / "out", target="macho-x86_64")
    text = str(caught.value)
    assert "bad.o" in text and "__DWARF,__debug_info" in text and "version 9" in text
    assert "\n" not in text
    assert not (tmp_path / "out").exists()


def test_common_variable_reaches_the_dsym(macho_cc: Callable[..., Path], tmp_path: Path) -> None:
    """A COMMON the linker allocates is listed (N_GSYM, in the first declaring object's
    unit, as ld64.lld lists it): without it dsymutil drops the variable's DIE."""
    obj = macho_cc("int shared_counter;\nint main(void) { return shared_counter; }\n",
                   "common", "-g", "-fcommon")
    exe = tmp_path / "exe"
    link([str(obj), "-lSystem"], exe, target="macho-x86_64")
    gsyms = [s for s in _stabs(exe) if s[0] == "N_GSYM"]
    assert [s[4] for s in gsyms] == ["_shared_counter"]
    out = subprocess.run(["llvm-dwarfdump-14", "--name=shared_counter", str(_dsym(exe))],
                         check=True, capture_output=True, text=True).stdout
    assert f"DW_OP_addr {gsyms[0][3]:#x}" in out


def test_clang_g_through_the_shim_makes_a_dsym(tmp_path: Path) -> None:
    """The user's view: `clang -g a.c b.c` for Darwin through our ld64 shim; clang then runs
    dsymutil on the output itself (its objects still exist), and the .dSYM has the lines."""
    from linker.cli import ld64_shim
    (tmp_path / "a.c").write_text(MAIN)
    (tmp_path / "b.c").write_text(OTHER)
    subprocess.run(["clang-14", f"--target={TRIPLE}", "-nostdlibinc", "-isystem",
                    str(MACHO_INCLUDE), "-fuse-ld=lld", f"--ld-path={ld64_shim()}", "-g",
                    "a.c", "b.c", "-o", "prog"], check=True, capture_output=True, cwd=tmp_path)
    dsym = tmp_path / "prog.dSYM"
    assert dsym.is_dir()
    functions = _functions(_stabs(tmp_path / "prog"))
    for name in ("_main", "_other", "_helper"):
        assert _line_of(dsym, functions[name]) == LINES[name], name


def test_universal_objects_in_the_map(macho_cc: Callable[..., Path],
                                      macho32_cc: Callable[..., Path], tmp_path: Path) -> None:
    """A universal (fat) object: the N_OSO names the file, dsymutil takes the slice of the
    image's arch, and the checker accepts it (MACHO-STAB-OSO reads the fat header)."""
    fat = tmp_path / "fat.o"
    subprocess.run(["llvm-lipo-14", "-create", str(macho_cc(MAIN, "fat64", "-g")),
                    str(macho32_cc(MAIN.replace("other(g_data)", "g_data"), "fat32", "-g")),
                    "-output", str(fat)], check=True)
    other = macho_cc(OTHER, "fat-other", "-g")
    exe = tmp_path / "exe"
    link([str(fat), str(other), "-lSystem"], exe, target="macho-x86_64")
    assert [s[4] for s in _stabs(exe) if s[0] == "N_OSO"] == [str(fat), str(other)]
    assert check(str(exe)) == []
    functions = _functions(_stabs(exe))
    assert _line_of(_dsym(exe), functions["_helper"])[1] == LINES["_helper"][1]
