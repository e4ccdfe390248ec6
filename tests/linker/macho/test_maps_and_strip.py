"""The Mach-O back half honours the link's map and strip options as the ELF one does, on
both archs: --map (the JSON map) and -Map (GNU ld's text map), written from the same
format-neutral record by the same code; --strip (-s), -x and -S.  Every output is checked,
its fields confirmed, and run under the emulated dyld lazily and with every bind at load."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linker.cli import main as linkharness_main
from oracle.check import check
from oracle.emulate import run
from oracle.emulate.macho import image as macho_image
from oracle.macho_relocs import check_macho_fields

PROGRAM = r"""
int printf(const char *, ...);
__attribute__((visibility("hidden"))) int hidden_helper(int x) { return x + 1; }
int api_twice(int x) { return 2 * hidden_helper(x) - 2; }
int helper_value = 7;
int *table[] = { &helper_value, 0 };
int main(int argc, char **argv) {
    printf("v %d\n", api_twice(*table[0]) + argc);
    return 3;
}
"""
TARGETS = ("macho-x86_64", "macho-i386")


@pytest.fixture(scope="module")
def programs(macho_cc: Callable[..., Path], macho32_cc: Callable[..., Path]
             ) -> dict[str, Path]:
    return {"macho-x86_64": macho_cc(PROGRAM, "maps64"),
            "macho-i386": macho32_cc(PROGRAM, "maps32", "-O1")}


def _link(target: str, program: Path, out: Path, *options: str) -> Path:
    code = linkharness_main(["--target", target, "-o", str(out), str(program), "-lSystem",
                             *options])
    assert code == 0 and out.exists()
    return out


def _judged(out: Path, program: Path) -> None:
    assert [f for f in check(out) if f.severity != "warning"] == []
    assert not check_macho_fields(out, [program]).mismatches
    for bind in ("lazy", "now"):
        result = run(out, bind=bind)
        assert (result.faults, result.stdout, result.exit_code) == ([], b"v 15\n", 3)


def _nm(out: Path) -> dict[str, int | None]:
    """Symbol name -> address (None: undefined), from llvm-nm."""
    text = subprocess.run(["llvm-nm-14", str(out)], capture_output=True, text=True,
                          check=True).stdout
    names: dict[str, int | None] = {}
    for line in text.splitlines():
        parts = line.split()
        names[parts[-1]] = None if parts[0] == "U" else int(parts[0], 16)
    return names


def _exports(out: Path) -> str:
    text = subprocess.run(["llvm-objdump-14", "--macho", "--exports-trie", str(out)],
                          capture_output=True, text=True, check=True).stdout
    return text.replace(str(out), "OUT")


def _sections(out: Path) -> dict[str, tuple[int, int]]:
    """`__SEG,__sect` -> (address, size), from the output's own headers."""
    img = macho_image.parse(out.read_bytes())
    return {f"{s.segname},{s.sectname}": (s.addr, s.size)
            for seg in img.segments for s in seg.sections}


@pytest.mark.parametrize("target", TARGETS)
def test_json_map_matches_the_output(target: str, programs: dict[str, Path],
                                     tmp_path: Path) -> None:
    program = programs[target]
    out, map_file = tmp_path / "mapped", tmp_path / "map.json"
    _link(target, program, out, "--map", str(map_file))
    data = json.loads(map_file.read_text())
    assert data["target"] == target
    nm = _nm(out)
    symbols = {s["name"]: s for s in data["symbols"]}
    for name in ("_main", "_api_twice", "_helper_value", "_table"):
        assert symbols[name]["address"] == nm[name], name
    assert symbols["_printf"]["kind"] == "import" and symbols["_printf"]["plt"]
    assert data["entry"] == nm["_main"]
    headers = _sections(out)
    for o in data["output_sections"]:
        assert (o["address"], o["size"]) == headers[o["name"]], o["name"]
    ours = [s for s in data["sections"] if s["file"] == str(program)]
    assert {s["output_section"] for s in ours} >= {"__TEXT,__text", "__DATA,__data"}
    _judged(out, program)


@pytest.mark.parametrize("target", TARGETS)
def test_text_map_lists_the_sections_and_symbols(target: str, programs: dict[str, Path],
                                                 tmp_path: Path) -> None:
    program = programs[target]
    out, map_file = tmp_path / "mapped", tmp_path / "map.txt"
    _link(target, program, out, "-Map", str(map_file))
    text = map_file.read_text()
    word = 8 if target == "macho-x86_64" else 4
    bfd = "mach-o-x86-64" if target == "macho-x86_64" else "mach-o-i386"
    assert text.rstrip().endswith(f"OUTPUT({out} {bfd})")
    assert f"LOAD {program}" in text
    # every output section's line: name, address and size as the headers have them
    line = rf"^(__[A-Z]+,\w+)\s+0x([0-9a-f]{{{2 * word}}})\s+0x([0-9a-f]+)$"
    listed = {m[1]: (int(m[2], 16), int(m[3], 16))
              for m in re.finditer(line, text, re.MULTILINE)}
    assert listed == _sections(out)
    # a global symbol under its input section, at its address
    main = _nm(out)["_main"]
    assert main is not None
    assert re.search(rf"^\s+0x0*{main:x}\s+_main$", text, re.MULTILINE)
    assert "linker stubs" in text  # __stubs and the helper are the linker's own


@pytest.mark.parametrize("target", TARGETS)
def test_strip_keeps_what_dyld_needs(target: str, programs: dict[str, Path],
                                     tmp_path: Path) -> None:
    program = programs[target]
    full = _link(target, program, tmp_path / "full")
    stripped = _link(target, program, tmp_path / "stripped", "-s")
    assert "_api_twice" in _nm(full)
    names = _nm(stripped)
    assert set(names) == {"__mh_execute_header", "_printf", "dyld_stub_binder"}
    assert names["_printf"] is None
    assert _exports(stripped) == _exports(full)
    _judged(stripped, program)


@pytest.mark.parametrize("target", TARGETS)
def test_discard_locals_drops_hidden_symbols(target: str, programs: dict[str, Path],
                                             tmp_path: Path) -> None:
    program = programs[target]
    full = _link(target, program, tmp_path / "full")
    discarded = _link(target, program, tmp_path / "discarded", "-x")
    assert "_hidden_helper" in _nm(full)
    names = _nm(discarded)
    assert "_hidden_helper" not in names
    assert set(_nm(full)) - set(names) == {"_hidden_helper"}
    _judged(discarded, program)
