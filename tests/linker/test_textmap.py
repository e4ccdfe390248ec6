"""-Map FILE and --print-map: GNU ld's text map layout, compared with GNU ld's own map of the
same gcc -B link (input sections per output section, the symbols under them, archive members
and why, COMDAT-discarded sections) and with the output's own section and symbol tables."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from linker import cli

pytestmark = pytest.mark.skipif(shutil.which("g++") is None or shutil.which("nm") is None,
                                reason="needs g++ and nm")

HEX = r"0x[0-9a-f]+"
INPUT = re.compile(rf"^ (\S+)\s+({HEX})\s+({HEX}) (.+)$")
OUTPUT = re.compile(rf"^(\S+)\s+({HEX})\s+({HEX})$")
SYMBOL = re.compile(rf"^\s{{16}}({HEX})\s{{16}}(\S+)$")


def _build(tmp: Path) -> list[Path]:
    (tmp / "c1.cc").write_text("inline int twice(int x) { return 2 * x; }\n"
                               "int one(int x) { return twice(x); }\n")
    (tmp / "c2.cc").write_text("inline int twice(int x) { return 2 * x; }\n"
                               "int one(int); extern \"C\" int helper(void);\n"
                               "int main() { return one(1) + twice(2) + helper() - 13; }\n")
    (tmp / "h.c").write_text("int helper(void) { return 7; }\n")
    for src in ("c1.cc", "c2.cc", "h.c"):
        subprocess.run(["g++" if src.endswith("cc") else "gcc", "-c", "-O0", src],
                       cwd=tmp, check=True)
    subprocess.run(["ar", "rcs", "libh.a", "h.o"], cwd=tmp, check=True)
    return [Path("c1.o"), Path("c2.o")]


def _link(tmp: Path, out: str, flags: list[str], ours: bool) -> subprocess.CompletedProcess[str]:
    driver = ["g++", "-no-pie"] + ([f"-B{cli.shim_dir()}"] if ours else [])
    done = subprocess.run(driver + ["c1.o", "c2.o", "-L.", "-lh", "-o", out] + flags, cwd=tmp,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert subprocess.run([str(tmp / out)], check=False).returncode == 0
    return done


def _parse(text: str) -> dict[str, list[tuple[str, int, int, str, list[str]]]]:
    """output section -> [(input section, address, size, file, [symbols])]."""
    body = text.split("Linker script and memory map", 1)[1].splitlines()
    sections: dict[str, list[tuple[str, int, int, str, list[str]]]] = {}
    current: list[tuple[str, int, int, str, list[str]]] = []
    pending = ""
    for line in body:
        if pending:
            line, pending = pending + line, ""
        if re.fullmatch(r" ?\S+", line) and not line.startswith(("LOAD", "OUTPUT")):
            pending = line  # a long name: its columns follow on the next line
            continue
        if m := OUTPUT.match(line):
            current = sections.setdefault(m[1], [])
        elif (m := INPUT.match(line)) and m[1] != "*fill*":
            current.append((m[1], int(m[2], 16), int(m[3], 16), Path(m[4]).name, []))
        elif (m := SYMBOL.match(line)) and current:
            current[-1][4].append(m[2])
    return sections


def test_map_lists_what_gnu_ld_lists(tmp_path: Path) -> None:
    _build(tmp_path)
    _link(tmp_path, "gnu", ["-Wl,-Map=gnu.map"], ours=False)
    _link(tmp_path, "ours", ["-Wl,-Map=ours.map"], ours=True)
    gnu_text, ours_text = (tmp_path / "gnu.map").read_text(), (tmp_path / "ours.map").read_text()
    # the archive member, and why, in GNU's columns
    line = "./libh.a(h.o)                 c2.o (helper)"
    assert line in gnu_text.splitlines() and line in ours_text.splitlines()
    # the COMDAT copy of twice() that lost, from c2.o
    discarded = " .text._Z5twicei\n                0x0000000000000000        0xe c2.o"
    assert discarded in gnu_text and discarded in ours_text
    gnu, ours = _parse(gnu_text), _parse(ours_text)
    mine = ("c1.o", "c2.o", "libh.a(h.o)")
    for name in (".text", ".data", ".bss"):
        assert ([(sec, size, f) for sec, _, size, f, _ in ours[name] if f in mine]
                == [(sec, size, f) for sec, _, size, f, _ in gnu[name] if f in mine]), name
    text = {f: syms for sec, _, _, f, syms in ours[".text"] if sec == ".text"}
    assert text["libh.a(h.o)"] == ["helper"] and text["c2.o"] == ["main"]


def test_map_addresses_are_the_outputs(tmp_path: Path) -> None:
    _build(tmp_path)
    done = _link(tmp_path, "ours", ["-Wl,--print-map"], ours=True)
    assert done.stdout.startswith("Archive member included to satisfy reference by file")
    ours = _parse(done.stdout)
    nm = subprocess.run(["nm", str(tmp_path / "ours")], capture_output=True, text=True,
                        check=True).stdout
    address = {f[2]: int(f[0], 16) for f in (line.split() for line in nm.splitlines())
               if len(f) == 3}
    listed = 0
    for inputs in ours.values():
        for _, at, _, _, syms in inputs:
            for sym in syms:
                assert address[sym] >= at, sym
                listed += 1
    assert listed >= 3
    sections = subprocess.run(["readelf", "-SW", str(tmp_path / "ours")], capture_output=True,
                              text=True, check=True).stdout
    text_row = next(line for line in sections.splitlines() if " .text " in line).split()
    text_addr = int(text_row[text_row.index("PROGBITS") + 1], 16)
    assert min(at for _, at, _, _, _ in ours[".text"]) == text_addr
