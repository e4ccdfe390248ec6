"""ld64's options that change an output, through `linkharness link --target macho-x86_64`:
-no_pie, -pagezero_size, -headerpad, -stack_size, -exported_symbols_list, -sectcreate,
--strip, --map.
Each output is checked, its fields confirmed, and run under the emulated dyld."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest

from linker import LinkError, link
from linker.cli import main as linkharness_main
from oracle.check import check
from oracle.emulate import run
from oracle.emulate.macho import image as macho_image
from oracle.macho_relocs import check_macho_fields

PROGRAM = r"""
int printf(const char *, ...);
int api_twice(int x) { return 2 * x; }
int helper_value = 7;
int main(int argc, char **argv) {
    printf("v %d\n", api_twice(helper_value) + argc);
    return 3;
}
"""
MH_PIE = 0x200000
LC_MAIN = 0x80000028


@pytest.fixture(scope="module")
def program(macho_cc) -> Path:
    return macho_cc(PROGRAM, "options")


def _objdump(*args: str | Path) -> str:
    return subprocess.run(["llvm-objdump-14", "--macho", *map(str, args)], check=True,
                          capture_output=True, text=True).stdout


def _ld64(program: Path, out: Path, *options: str) -> None:
    code = linkharness_main(["--target", "macho-x86_64", "-o", str(out), str(program),
                             "-lSystem", *options])
    assert code == 0 and out.exists()


def _judged(out: Path, program: Path) -> None:
    assert check(out) == []
    assert not check_macho_fields(out, [program]).mismatches
    for bind in ("lazy", "now"):
        result = run(out, bind=bind)
        assert (result.faults, result.stdout, result.exit_code) == ([], b"v 15\n", 3)


def _header_flags(out: Path) -> int:
    return int(struct.unpack_from("<I", out.read_bytes(), 24)[0])


def _nlist_names(out: Path) -> list[str]:
    text = subprocess.run(["llvm-nm-14", str(out)], capture_output=True, text=True,
                          check=True).stdout
    return [line.split()[-1] for line in text.splitlines() if line.strip()]


def test_no_pie_clears_mh_pie(program: Path, tmp_path: Path) -> None:
    _ld64(program, tmp_path / "pie")
    _ld64(program, tmp_path / "nopie", "-no_pie")
    assert _header_flags(tmp_path / "pie") & MH_PIE
    assert not _header_flags(tmp_path / "nopie") & MH_PIE
    _judged(tmp_path / "nopie", program)


def test_pagezero_size_moves_text(program: Path, tmp_path: Path) -> None:
    out = tmp_path / "pz"
    _ld64(program, out, "-pagezero_size", "0x10000")
    img = macho_image.parse(out.read_bytes())
    zero, text = img.segment_named("__PAGEZERO"), img.segment_named("__TEXT")
    assert zero is not None and text is not None
    assert (zero.vmsize, text.vmaddr) == (0x10000, 0x10000)
    _judged(out, program)


def test_headerpad_leaves_room_after_the_load_commands(program: Path, tmp_path: Path) -> None:
    plain, padded = tmp_path / "plain", tmp_path / "padded"
    _ld64(program, plain)
    _ld64(program, padded, "-headerpad", "0x800")

    def room(path: Path) -> int:
        data = path.read_bytes()
        sizeofcmds = struct.unpack_from("<I", data, 20)[0]
        img = macho_image.parse(data)
        text = img.segment_named("__TEXT")
        assert text is not None
        return min(s.offset for s in text.sections) - (32 + sizeofcmds)
    assert room(padded) >= 0x800 > room(plain)
    _judged(padded, program)


def test_stack_size_is_lc_main_stacksize(program: Path, tmp_path: Path) -> None:
    out = tmp_path / "stack"
    _ld64(program, out, "-stack_size", "0x200000")
    assert "stacksize 2097152" in _objdump("--private-headers", out)
    _judged(out, program)
    with pytest.raises(LinkError, match="-stack_size is written in LC_MAIN only"):
        link([program, "-lSystem"], tmp_path / "classic", target="macho-x86_64",
             macho_classic=True, entry="_main", macho_options={"stack_size": 0x200000})


def test_exported_symbols_list_hides_the_rest(program: Path, tmp_path: Path) -> None:
    listing = tmp_path / "exports"
    listing.write_text("_main\n_api_*\n")
    out = tmp_path / "exported"
    _ld64(program, out, "-exported_symbols_list", str(listing))
    trie = _objdump("--exports-trie", out)
    assert "_api_twice" in trie and "_main" in trie and "_helper_value" not in trie
    nm = subprocess.run(["llvm-nm-14", "-m", str(out)], capture_output=True, text=True,
                        check=True).stdout
    assert "non-external (was a private external) _helper_value" in nm
    _judged(out, program)


def test_strip_keeps_only_imports(program: Path, tmp_path: Path) -> None:
    full, stripped = tmp_path / "full", tmp_path / "stripped"
    _ld64(program, full)
    _ld64(program, stripped, "-s")
    assert "_api_twice" in _nlist_names(full)
    assert set(_nlist_names(stripped)) == {"__mh_execute_header", "_printf", "dyld_stub_binder"}
    assert _objdump("--exports-trie", stripped) == _objdump("--exports-trie", full).replace(
        str(full), str(stripped))
    _judged(stripped, program)


def test_map_is_the_json_map(program: Path, tmp_path: Path) -> None:
    out, map_file = tmp_path / "mapped", tmp_path / "map.json"
    _ld64(program, out, "--map", str(map_file))
    data = json.loads(map_file.read_text())
    assert data["target"] == "macho-x86_64"
    symbols = {s["name"]: s for s in data["symbols"]}
    nm = {line.split()[-1]: int(line.split()[0], 16) for line in subprocess.run(
        ["llvm-nm-14", str(out)], capture_output=True, text=True, check=True
    ).stdout.splitlines() if line.split()[0] != "U"}
    assert symbols["_main"]["address"] == nm["_main"]
    assert symbols["_printf"]["kind"] == "import" and symbols["_printf"]["plt"]
    text = next(s for s in data["sections"] if s["file"] == str(program))
    assert text["section"] == text["output_section"] == "__TEXT,__text"
    out_text = next(o for o in data["output_sections"] if o["name"] == "__TEXT,__text")
    img = macho_image.parse(out.read_bytes())
    segment = img.segment_named("__TEXT")
    assert segment is not None
    header = next(s for s in segment.sections if s.sectname == "__text")
    assert (out_text["address"], out_text["size"]) == (header.addr, header.size)
    assert data["entry"] == nm["_main"]


def test_sectcreate_adds_the_file_as_a_section(program: Path, tmp_path: Path) -> None:
    plist = tmp_path / "Info.plist"
    plist.write_bytes(b"<plist>linkharness</plist>\n")
    out = tmp_path / "plist"
    _ld64(program, out, "-sectcreate", "__TEXT", "__info_plist", str(plist))
    img = macho_image.parse(out.read_bytes())
    text = img.segment_named("__TEXT")
    assert text is not None
    section = next(s for s in text.sections if s.sectname == "__info_plist")
    data = out.read_bytes()
    assert data[section.offset:section.offset + section.size] == plist.read_bytes()
    _judged(out, program)
    for segment, sectname, message in (("__LLVM", "__bundle", "only __TEXT and __DATA"),
                                       ("__TEXT", "__text", "already exists")):
        with pytest.raises(LinkError, match=message):
            link([program, "-lSystem"], tmp_path / "bad", target="macho-x86_64",
                 macho_options={"sectcreate": ((segment, sectname, b"x"),)})
    assert not (tmp_path / "bad").exists()
