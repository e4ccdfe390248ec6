"""The compiler-made hostile targets (fuzz/hostile/seeds_real.py): their seeds are the same
bytes from one build to the next (so a kept case's recipe means the same input), and they
carry what the targets are there for; GNU's legacy `.zdebug_*` form is refused in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fuzz.hostile.seeds import Targets
from fuzz.hostile.seeds_real import SOURCES, _compile_all
from linker import LinkError, link


def test_compiled_seeds_are_deterministic(tmp_path: Path, targets: Targets) -> None:
    again = _compile_all(tmp_path / "again")
    first = targets.links["gcc-object"]
    seeds = {s.name: s.data for s in first.seeds}
    assert seeds["c_parts.o"] == again["c_parts.o"].read_bytes()
    assert seeds["cxx_parts.o"] == again["cxx_parts.o"].read_bytes()


def _sections(path: Path) -> str:
    return subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_compiled_seeds_carry_what_the_generators_never_draw(targets: Targets) -> None:
    cxx = next(p for p in targets.links["gcc-object"].inputs if p.name == "cxx_parts.o")
    table = _sections(cxx)
    for needed in (" GROUP ", ".eh_frame", ".gcc_except_table", ".tbss", ".init_array",
                   ".note.gnu.property", ".rodata.str1", ".debug_rnglists"):
        assert needed in table, needed
    assert " C " in table.split(".debug_info")[1].splitlines()[0]  # -gz: SHF_COMPRESSED
    macho = targets.links["clang-macho-object"].seeds
    joined = b"".join(s.data for s in macho)
    for section in (b"__compact_unwind", b"__eh_frame", b"__mod_init_func", b"__cstring",
                    b"__thread_vars", b"__debug_info", b"__gcc_except_tab"):
        assert section in joined, section


def test_legacy_zdebug_is_refused_in_one_line(tmp_path: Path) -> None:
    obj = tmp_path / "c_parts.o"
    subprocess.run(["gcc", "-m32", "-fno-pie", "-DNO_ZLIB", "-O2", "-g", "-gz=zlib-gnu",
                    "-c", str(SOURCES / "c_parts.c"), "-o", str(obj)], check=True)
    with pytest.raises(LinkError) as caught:
        link([obj], tmp_path / "a.out", target="elf32-i386", entry="main",
             ignore_undefined=True)
    assert len(str(caught.value).splitlines()) == 1
    assert "c_parts.o: section .zdebug_" in str(caught.value)
    assert "-gz=zlib-gnu" in str(caught.value)
    assert not (tmp_path / "a.out").exists()
