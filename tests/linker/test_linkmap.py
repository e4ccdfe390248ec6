"""linker/linkmap.py: the JSON map's shape and contents for a small dynamic link."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linker import link

START = """
    .text
    .globl _start
    .weak absent
_start:
    call puts@PLT
    movq environ(%rip), %rax
    movq exit@GOTPCREL(%rip), %rax
    movq $absent, %rax
    movq $_end, %rax
    call helper
    ret
helper:
    ret
    .data
    .globl counter
counter: .quad 7
"""
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    d = tmp_path_factory.mktemp("map")
    (d / "s.s").write_text(START)
    obj = d / "s.o"
    subprocess.run(["as", "-o", str(obj), str(d / "s.s")], check=True)
    out = d / "prog"
    link([obj, LIBC], out, map_file=d / "map.json")
    text = (d / "map.json").read_text()
    assert text.endswith("}\n")
    return json.loads(text), out, obj


def test_top_level_shape(linked: tuple[dict[str, Any], Path, Path]) -> None:
    m, out, _ = linked
    assert set(m) == {"target", "entry", "output_sections", "sections", "symbols"}
    assert m["target"] == "elf64-x86-64"
    with open(out, "rb") as f:
        assert m["entry"] == ELFFile(f).header["e_entry"]


def test_output_sections_match_the_section_headers(
        linked: tuple[dict[str, Any], Path, Path]) -> None:
    m, out, _ = linked
    with open(out, "rb") as f:
        headers = {s.name: s for s in ELFFile(f).iter_sections() if s["sh_flags"] & 2}
    for o in m["output_sections"]:
        assert set(o) == {"name", "address", "size", "file_offset"}
        h = headers[o["name"]]
        assert (o["address"], o["size"]) == (h["sh_addr"], h["sh_size"])
        if h["sh_type"] != "SHT_NOBITS":
            assert o["file_offset"] == h["sh_offset"]
    assert {o["name"] for o in m["output_sections"]} == set(headers)


def test_input_sections_listed_inside_their_output(
        linked: tuple[dict[str, Any], Path, Path]) -> None:
    m, _, obj = linked
    outs = {o["name"]: o for o in m["output_sections"]}
    for s in m["sections"]:
        assert set(s) == {"file", "section", "index", "output_section", "address", "size"}
        o = outs[s["output_section"]]
        assert o["address"] <= s["address"] <= s["address"] + s["size"] <= o["address"] + \
            o["size"]
    mine = {s["section"]: s for s in m["sections"] if s["file"] == str(obj)}
    assert mine[".text"]["output_section"] == ".text" and mine[".text"]["index"] == 1
    assert mine[".data"]["output_section"] == ".data"
    assert mine[".text"]["address"] == m["entry"]


def test_symbols_say_where_they_come_from(linked: tuple[dict[str, Any], Path, Path]) -> None:
    m, out, obj = linked
    syms = {s["name"]: s for s in m["symbols"]}
    for s in syms.values():
        assert {"name", "address", "size", "got", "plt", "kind"} <= set(s)
    assert "helper" not in syms  # locals are not in the map
    assert syms["_start"] == {"name": "_start", "address": m["entry"], "size": 0, "got": None,
                              "plt": None, "kind": "defined", "file": str(obj)}
    assert syms["counter"]["kind"] == "defined"
    puts = syms["puts"]
    assert puts["kind"] == "import" and puts["library"] == "libc.so.6"
    assert puts["plt"] is not None and puts["got"] is None
    assert syms["exit"]["kind"] == "import" and syms["exit"]["got"] is not None
    env = syms["environ"]
    assert env["kind"] == "copy" and env["library"] == "libc.so.6" and env["size"] == 8
    assert syms["absent"] == {"name": "absent", "address": 0, "size": 0, "got": None,
                              "plt": None, "kind": "undefined-weak"}
    assert syms["_end"]["kind"] == "linker" and syms["_end"]["address"] > 0
    with open(out, "rb") as f:
        elf = ELFFile(f)
        plt = elf.get_section_by_name(".plt")
        got = elf.get_section_by_name(".got")
        bss = elf.get_section_by_name(".bss")
        assert plt is not None and got is not None and bss is not None
        assert plt["sh_addr"] < puts["plt"] < plt["sh_addr"] + plt["sh_size"]
        assert got["sh_addr"] <= syms["exit"]["got"] < got["sh_addr"] + got["sh_size"]
        assert bss["sh_addr"] <= env["address"] < bss["sh_addr"] + bss["sh_size"]


def test_maps_keep_a_name_that_is_not_utf8_as_its_bytes(
        tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    """-Map and -M write an input's names as their bytes (a name that is not UTF-8 was an
    internal error, UnicodeEncodeError); the JSON map escapes it."""
    source = tmp_path / "odd.s"
    source.write_bytes(b'.globl _start\n_start: call "odd\xb1name"\nmov $60, %eax\nsyscall\n'
                       b'.globl "odd\xb1name"\n"odd\xb1name": ret\n')
    subprocess.run(["as", "-o", str(tmp_path / "odd.o"), str(source)], check=True)
    link([tmp_path / "odd.o"], tmp_path / "odd", text_map=tmp_path / "odd.map",
         map_file=tmp_path / "odd.json", print_map=True)
    assert b"odd\xb1name" in (tmp_path / "odd.map").read_bytes()
    assert b"odd\xb1name" in capfdbinary.readouterr().out
    names = [s["name"] for s in json.loads((tmp_path / "odd.json").read_text())["symbols"]]
    assert "odd\udcb1name" in names
