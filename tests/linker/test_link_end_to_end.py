"""linker.link end to end on small programs: i386 and x86-64, static without libc, the map.

The integration suite (tests/integration) runs many C programs through the gcc shim; these
tests pin down the API-level behaviours around it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import LinkError, link, shim_dir

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
extern char **environ;
int counter;
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int (*say)(const char *) = puts;
__attribute__((weak)) extern int absent(void);
__attribute__((constructor)) static void early(void) { counter = 40; }
int main(void) {
    int v[] = {3, 1, 2};
    qsort(v, 3, sizeof v[0], cmp);
    printf("%d%d%d %d\n", v[0], v[1], v[2], absent == 0);
    say(environ[0] ? "env" : "none");
    fprintf(stderr, "err\n");
    return counter + 2;
}
"""

START = """
    .globl _start
    .text
_start:
    movl value(%rip), %edi
    addl $1, %edi
    movl $60, %eax
    syscall
    .data
value: .long 41
"""


def _run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(c) for c in cmd], check=False, capture_output=True, timeout=60,
                          **kw)


@pytest.mark.parametrize("m32", [False, True], ids=["x86_64", "i386"])
@pytest.mark.parametrize("opt", ["-O0", "-O2 -fPIC"])
def test_shim_matches_gnu_ld(tmp_path: Path, m32: bool, opt: str) -> None:
    src = tmp_path / "p.c"
    src.write_text(PROGRAM)
    flags = [*opt.split(), *(["-m32"] if m32 else []), "-no-pie"]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    built = _run("gcc", *flags, f"-B{shim_dir()}", src, "-o", ours)
    assert built.returncode == 0, built.stderr.decode()
    assert _run("gcc", *flags, "-fuse-ld=bfd", src, "-o", theirs).returncode == 0
    a, b = _run(ours), _run(theirs)
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)
    assert a.returncode == 42 and a.stdout == b"123 1\nenv\n"
    with open(ours, "rb") as f:
        elf = ELFFile(f)
        assert elf.elfclass == (32 if m32 else 64)
        assert elf["e_type"] == "ET_EXEC"
        assert any(s["p_type"] == "PT_GNU_EH_FRAME" for s in elf.iter_segments())


def test_static_link_without_libc(tmp_path: Path) -> None:
    src = tmp_path / "start.s"
    src.write_text(START)
    obj = tmp_path / "start.o"
    assert _run("as", "-o", obj, src).returncode == 0
    out = tmp_path / "prog"
    result = link([obj], out, map_file=tmp_path / "map.json")
    assert not result.dynamic
    assert _run(out).returncode == 42
    with open(out, "rb") as f:
        types = [s["p_type"] for s in ELFFile(f).iter_segments()]
    assert "PT_INTERP" not in types and "PT_DYNAMIC" not in types
    linkmap = json.loads((tmp_path / "map.json").read_text())
    assert linkmap["target"] == "elf64-x86-64"
    sections = {(s["file"], s["section"]): s["address"] for s in linkmap["sections"]}
    text = sections[(str(obj), ".text")]
    assert linkmap["entry"] == text
    value = next(s for s in linkmap["symbols"] if s["name"] == "_start")
    assert value["address"] == text and value["got"] is None


def test_undefined_symbol_leaves_no_output(tmp_path: Path) -> None:
    src = tmp_path / "u.s"
    src.write_text(".globl _start\n_start: call missing_function\n")
    obj = tmp_path / "u.o"
    assert _run("as", "-o", obj, src).returncode == 0
    with pytest.raises(LinkError, match=r"symbol missing_function: undefined reference to "
                                        r"`missing_function' \(undefined symbol, "
                                        r"referenced by .*u\.o\)"):
        link([obj], tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.o", "u.s"]


def test_copied_object_also_reached_through_the_got(tmp_path: Path) -> None:
    """One object reads `stdout` by absolute address (COPY), another through the GOT: the
    GOT slot must hold the copy's address (found by the link-speed benchmark)."""
    (tmp_path / "copy.c").write_text(
        "#include <stdio.h>\nFILE *direct(void) { return stdout; }\n")
    (tmp_path / "got.c").write_text(
        "#include <stdio.h>\nFILE *direct(void);\n"
        "int main(void) { fputs(stdout == direct() ? \"same\\n\" : \"differ\\n\", stdout);"
        " return 0; }\n")
    assert _run("gcc", "-c", "-O1", "-fno-pic", "-o", tmp_path / "copy.o",
                tmp_path / "copy.c").returncode == 0
    assert _run("gcc", "-c", "-O1", "-fPIC", "-o", tmp_path / "got.o",
                tmp_path / "got.c").returncode == 0
    out = tmp_path / "prog"
    built = _run("gcc", "-no-pie", f"-B{shim_dir()}", tmp_path / "copy.o", tmp_path / "got.o",
                 "-o", out)
    assert built.returncode == 0, built.stderr.decode()
    result = _run(out)
    assert (result.returncode, result.stdout) == (0, b"same\n")
