"""linker/elf/image.py: output sections, segments, .dynamic entries and dynamic relocations
of real links (pyelftools reads them back; the programs run)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from linker import shim_dir

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
extern char **environ;
int (*say)(const char *) = puts;
static int order[8], n;
__attribute__((constructor(200))) static void second(void) { order[n++] = 2; }
__attribute__((constructor(101))) static void first(void) { order[n++] = 1; }
__attribute__((constructor)) static void last(void) { order[n++] = 3; }
int main(void) {
    say(environ[0] ? "env" : "none");
    printf("%d%d%d\n", order[0], order[1], order[2]);
    exit(0);
}
"""


def _gcc(out: Path, src: Path, *flags: str) -> Path:
    subprocess.run(["gcc", "-O1", "-fno-pie", "-no-pie", "-B", shim_dir(), "-o", str(out),
                    str(src), *flags], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("image")
    src = d / "p.c"
    src.write_text(PROGRAM)
    return {
        "lazy": _gcc(d / "lazy", src, "-Wl,--hash-style=sysv"),
        "now": _gcc(d / "now", src, "-Wl,-z,now", "-Wl,--hash-style=gnu",
                    "-Wl,-rpath,/opt/a", "-Wl,-rpath,/opt/b", "-Wl,--no-as-needed", "-lm"),
    }


def dynamic(path: Path) -> tuple[list[tuple[str, Any]], dict[str, Any], list[tuple[str, str, int]]]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        dyn = elf.get_section_by_name(".dynamic")
        assert dyn is not None
        tags = [(t.entry.d_tag, getattr(t, "needed", None) or getattr(t, "runpath", None)
                 or t.entry.d_val) for t in dyn.iter_tags()]  # type: ignore[attr-defined]
        sections = {s.name: dict(s.header) for s in elf.iter_sections()}
        dynsym = elf.get_section_by_name(".dynsym")
        relocs = []
        for name in (".rela.dyn", ".rela.plt"):
            sec = elf.get_section_by_name(name)
            if sec is None:
                continue
            for r in sec.iter_relocations():  # type: ignore[attr-defined]
                sym = dynsym.get_symbol(r["r_info_sym"]).name  # type: ignore[union-attr]
                relocs.append((name, f"{r['r_info_type']}:{sym}", r["r_offset"]))
        return tags, sections, relocs


def test_programs_run_with_constructors_in_priority_order(built: dict[str, Path]) -> None:
    for path in built.values():
        done = subprocess.run([str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0 and done.stdout == "env\n123\n"


def test_dynamic_entries_lazy_sysv(built: dict[str, Path]) -> None:
    tags, sections, _ = dynamic(built["lazy"])
    names = [t for t, _ in tags]
    assert names[-1] == "DT_NULL" and names.count("DT_NULL") == 1
    assert [v for t, v in tags if t == "DT_NEEDED"] == ["libc.so.6"]
    assert "DT_HASH" in names and "DT_GNU_HASH" not in names
    assert ".gnu.hash" not in sections and ".hash" in sections
    assert "DT_FLAGS" not in names and "DT_FLAGS_1" not in names and "DT_RUNPATH" not in names
    values = dict(tags)
    for tag, section in (("DT_STRTAB", ".dynstr"), ("DT_SYMTAB", ".dynsym"),
                         ("DT_PLTGOT", ".got.plt"), ("DT_JMPREL", ".rela.plt"),
                         ("DT_RELA", ".rela.dyn"), ("DT_INIT_ARRAY", ".init_array"),
                         ("DT_VERNEED", ".gnu.version_r"), ("DT_VERSYM", ".gnu.version"),
                         ("DT_HASH", ".hash")):
        assert values[tag] == sections[section]["sh_addr"], tag
    assert values["DT_STRSZ"] == sections[".dynstr"]["sh_size"]
    assert values["DT_PLTRELSZ"] == sections[".rela.plt"]["sh_size"]
    assert values["DT_RELASZ"] == sections[".rela.dyn"]["sh_size"]
    assert values["DT_RELAENT"] == 24 and values["DT_SYMENT"] == 24
    # ours three, plus crtbegin.o's frame_dummy
    assert values["DT_INIT_ARRAYSZ"] == sections[".init_array"]["sh_size"] == 4 * 8
    assert values["DT_PLTREL"] == 7  # DT_RELA
    assert sections[".dynamic"]["sh_size"] == 16 * len(tags)


def test_dynamic_entries_now_gnu_runpath(built: dict[str, Path]) -> None:
    tags, sections, _ = dynamic(built["now"])
    values = dict(tags)
    names = [t for t, _ in tags]
    assert "DT_GNU_HASH" in names and "DT_HASH" not in names and ".hash" not in sections
    assert values["DT_FLAGS"] == 0x8 and values["DT_FLAGS_1"] == 0x1  # BIND_NOW, NOW
    assert values["DT_RUNPATH"] == "/opt/a:/opt/b"
    needed = [v for t, v in tags if t == "DT_NEEDED"]
    # Debian's gcc passes --as-needed; with --no-as-needed the unused libm stays, in
    # command-line order
    assert needed == ["libm.so.6", "libc.so.6"]


def test_dynamic_relocations(built: dict[str, Path]) -> None:
    _, sections, relocs = dynamic(built["lazy"])
    kinds = {(sec, what) for sec, what, _ in relocs}
    assert (".rela.dyn", "5:environ") in kinds  # R_X86_64_COPY
    assert (".rela.dyn", "1:puts") in kinds  # R_X86_64_64 for `say = puts`
    plt = [(what, off) for sec, what, off in relocs if sec == ".rela.plt"]
    assert plt and all(w.startswith("7:") for w, _ in plt)  # R_X86_64_JUMP_SLOT
    got_plt = sections[".got.plt"]
    # slots after the three reserved words, in order
    assert [off for _, off in plt] == [got_plt["sh_addr"] + 8 * (3 + i) for i in range(len(plt))]
    bss = sections[".bss"]
    copy_at = next(off for sec, what, off in relocs if what == "5:environ")
    assert bss["sh_addr"] <= copy_at < bss["sh_addr"] + bss["sh_size"]
    for _, what, _ in relocs:
        assert what.split(":")[0] in {"1", "5", "6", "7"}


def test_tls_sections_contiguous_before_zero_fill(tmp_path: Path) -> None:
    src = tmp_path / "t.c"
    src.write_text("__thread int a = 1; __thread int b; int z[1000]; int d = 4;\n"
                   "int main(void) { b = 2; z[5] = 1; return a + b + d + z[5] - 8; }\n")
    out = _gcc(tmp_path / "t", src)
    with open(out, "rb") as f:
        names = [s.name for s in ELFFile(f).iter_sections()]
    assert names.index(".tdata") + 1 == names.index(".tbss")
    assert names.index(".tbss") < names.index(".data") < names.index(".bss")
    assert subprocess.run([str(out)], check=False).returncode == 0
