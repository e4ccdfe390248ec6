"""GNU ld options a build passes, linked by GNU ld and by linkharness through `gcc -B`, run
natively and compared (program output, readelf): --wrap, --defsym, -y, -t, -x, the dtags,
-z keywords."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from linker import LinkError, cli

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("readelf") is None,
                                reason="needs gcc and readelf")

WRAP_DEFSYM = r"""
#include <stdio.h>
#include <stdlib.h>
void *__real_malloc(size_t);
int wrapped;
void *__wrap_malloc(size_t n) { wrapped++; return __real_malloc(n); }
extern char alias_sym[], abs_sym[];
char base_sym[16] = "0123456789abcdef";
int main(void) {
    char *p = malloc(10);
    free(p);
    printf("%d %c %lx\n", wrapped, alias_sym[0], (unsigned long)abs_sym);
    return 0;
}
"""


def _object(tmp: Path, source: str, name: str = "m") -> Path:
    c = tmp / f"{name}.c"
    c.write_text(source)
    obj = tmp / f"{name}.o"
    subprocess.run(["gcc", "-c", "-O0", "-fno-pie", str(c), "-o", str(obj)], check=True)
    return obj


def _link(tmp: Path, objects: list[Path], flags: list[str], out: str, *, ours: bool
          ) -> subprocess.CompletedProcess[str]:
    driver = ["gcc", "-no-pie"] + ([f"-B{cli.shim_dir()}"] if ours else [])
    return subprocess.run(driver + [str(o) for o in objects] + flags + ["-o", str(tmp / out)],
                          capture_output=True, text=True, check=False)


def _run(path: Path) -> str:
    return subprocess.run([str(path)], capture_output=True, text=True, check=True).stdout


def _symbols(path: Path) -> dict[str, tuple[str, str]]:
    """name -> (type, binding) of .symtab."""
    text = subprocess.run(["readelf", "-sW", str(path)], capture_output=True, text=True,
                          check=True).stdout
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0].endswith(":") and f[0][:-1].isdigit():
            out[f[7]] = (f[3], f[4])
    return out


def _dynamic(path: Path) -> str:
    return subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_wrap_and_defsym_run_as_with_gnu_ld(tmp_path: Path) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    flags = ["-Wl,--wrap=malloc,--defsym=alias_sym=base_sym+3,--defsym,abs_sym=0x1234"]
    for ours in (False, True):
        done = _link(tmp_path, [obj], flags, f"out{ours}", ours=ours)
        assert done.returncode == 0, done.stderr
        assert _run(tmp_path / f"out{ours}") == "1 3 1234\n"


def test_without_wrap_the_wrapper_is_not_called(tmp_path: Path) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM.replace("__real_malloc(n)", "calloc(1, n)"))
    done = _link(tmp_path, [obj], ["-Wl,--defsym=alias_sym=base_sym,--defsym=abs_sym=1"],
                 "out", ours=True)
    assert done.returncode == 0, done.stderr
    assert _run(tmp_path / "out") == "0 0 1\n"


def test_defsym_alias_of_an_undefined_symbol_is_refused(tmp_path: Path) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    done = _link(tmp_path, [obj], ["-Wl,--defsym=alias_sym=nowhere+1,--defsym=abs_sym=1"],
                 "out", ours=True)
    assert done.returncode == 1
    assert "nowhere" in done.stderr
    assert not (tmp_path / "out").exists()


def test_trace_and_trace_symbol_name_what_gnu_ld_names(tmp_path: Path) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    flags = ["-Wl,--wrap=malloc,--defsym=alias_sym=base_sym,--defsym=abs_sym=1",
             "-Wl,-t,-y,malloc,--trace-symbol=puts"]

    def lines(ours: bool) -> set[str]:
        done = _link(tmp_path, [obj], flags, "out", ours=ours)
        assert done.returncode == 0, done.stderr
        text = (done.stdout + done.stderr).replace(f"{tmp_path}/", "")
        return {line.split(": ", 1)[1] if ": " in line else Path(line).name
                for line in text.splitlines()}

    ours, gnu = lines(True), lines(False)
    for expected in ("m.o", "crt1.o", "libc.so.6", "m.o: reference to malloc",
                     "/lib/x86_64-linux-gnu/libc.so.6: definition of malloc"):
        assert expected in gnu, (expected, gnu)
        assert expected in ours, (expected, ours)


def _tags(path: Path) -> list[str]:
    """The .dynamic entries that options decide: (tag, value) lines, addresses left out."""
    keep = ("RPATH", "RUNPATH", "AUDIT", "DEPAUDIT", "FLAGS", "FLAGS_1", "BIND_NOW", "INIT",
            "FINI")
    out = []
    for line in _dynamic(path).splitlines():
        f = line.split(None, 2)
        if len(f) == 3 and f[1].strip("()") in keep:
            tag = f[1].strip("()")
            out.append(tag if tag in ("INIT", "FINI") else f"{tag} {f[2].strip()}")
    return out


BASE_FLAGS = "--wrap=malloc,--defsym=alias_sym=base_sym,--defsym=abs_sym=1"


@pytest.mark.parametrize("flags", [
    "--disable-new-dtags,-rpath,/x,-z,now,-z,origin,-z,nodefaultlib",
    "--enable-new-dtags,-rpath,/x,-rpath=/y,-z,now,-z,origin",
    "--audit=libA.so,--audit,libC.so,--depaudit=libB.so,-init=main,-fini=main",
    "-z,nodefaultlib,--disable-new-dtags,--enable-new-dtags,-rpath,/x",
    "-z,interpose,-z,nodump,-z,loadfltr,-z,global", "-z,nodelete,-z,nodlopen,-z,initfirst",
])
def test_dynamic_tags_are_gnu_lds(tmp_path: Path, flags: str) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    tags = []
    for ours in (False, True):
        done = _link(tmp_path, [obj], [f"-Wl,{BASE_FLAGS},{flags}"], f"out{ours}", ours=ours)
        assert done.returncode == 0, done.stderr
        tags.append(_tags(tmp_path / f"out{ours}"))
    assert sorted(tags[1]) == sorted(tags[0])
    assert tags[0]  # each case sets some tag


def _stack(path: Path) -> list[str]:
    text = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                          check=True).stdout
    return next(line.split()[5:7] for line in text.splitlines() if "GNU_STACK" in line)


def test_stack_size_sets_gnu_stack_memsz(tmp_path: Path) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    for ours in (False, True):
        done = _link(tmp_path, [obj], [f"-Wl,{BASE_FLAGS},-z,stack-size=0x200000"],
                     f"out{ours}", ours=ours)
        assert done.returncode == 0, done.stderr
        assert _stack(tmp_path / f"out{ours}") == ["0x200000", "RW"]


def test_discard_all_drops_the_objects_locals(tmp_path: Path) -> None:
    source = WRAP_DEFSYM + "static int hidden_counter;\nint *use(void) { return &hidden_counter; }\n"
    obj = _object(tmp_path, source)
    for flags, kept in ((f"-Wl,{BASE_FLAGS}", True), (f"-Wl,{BASE_FLAGS},-x", False),
                        (f"-Wl,{BASE_FLAGS},--discard-all", False)):
        for ours in (False, True):
            done = _link(tmp_path, [obj], [flags], "out", ours=ours)
            assert done.returncode == 0, done.stderr
            symbols = _symbols(tmp_path / "out")
            assert ("hidden_counter" in symbols) is kept, (flags, ours)
            assert (any(t == "FILE" for t, _ in symbols.values())) is kept, (flags, ours)
            assert _run(tmp_path / "out") == "1 0 1\n"


@pytest.mark.parametrize("flag", ["-Wl,-z,muldefs", "-Wl,--allow-multiple-definition",
                                  "-Wl,-allow-multiple-definition"])
def test_multiple_definitions_allowed_first_wins(tmp_path: Path, flag: str) -> None:
    one = _object(tmp_path, "int dup(void) { return 1; }\n", "d1")
    two = _object(tmp_path, "int dup(void) { return 2; }\nint main(void) { return dup(); }\n",
                  "d2")
    for order, expected in (([one, two], 1), ([two, one], 2)):
        for ours in (False, True):
            done = _link(tmp_path, order, [flag], "out", ours=ours)
            assert done.returncode == 0, done.stderr
            assert subprocess.run([str(tmp_path / "out")], check=False).returncode == expected
    assert _link(tmp_path, [one, two], [], "out", ours=True).returncode == 1


@pytest.mark.parametrize(("flag", "links"), [
    ("--unresolved-symbols=ignore-all", True), ("--unresolved-symbols=report-all", False),
    ("--unresolved-symbols=ignore-in-object-files", True),
    ("--unresolved-symbols=ignore-in-shared-libs", False), ("-z,undefs", True),
    ("-z,defs", False), ("--no-undefined", False),
])
def test_unresolved_symbols_as_gnu_ld(tmp_path: Path, flag: str, links: bool) -> None:
    obj = _object(tmp_path, "extern int nope(void);\nint main(void) { return 0; }\n"
                            "int f(void) { return nope(); }\n", "un")
    for ours in (False, True):
        done = _link(tmp_path, [obj], [f"-Wl,{flag}"], "out", ours=ours)
        assert (done.returncode == 0) is links, (ours, done.stderr)
        if links:
            assert subprocess.run([str(tmp_path / "out")], check=False).returncode == 0
        else:
            assert "nope" in done.stderr


def _loads(path: Path) -> list[tuple[str, int, int, int]]:
    """(flags, p_offset, p_vaddr, p_align) of each PT_LOAD."""
    text = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                          check=True).stdout
    out = []
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            out.append((" ".join(f[7:-1]), int(f[1], 16), int(f[2], 16), int(f[-1], 16)))
    return out


def _code_segment_sections(path: Path) -> list[str]:
    """The sections mapped to the executable PT_LOAD (readelf's mapping rows follow the
    program headers' order)."""
    text = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                          check=True).stdout
    head, mapping = text.split("Segment Sections...")
    rows = [line.split() for line in head.split("Program Headers:")[1].splitlines()[2:]]
    headers = [f for f in rows if f and f[0] != "[Requesting"]
    code = next(n for n, f in enumerate(headers) if f[0] == "LOAD" and "E" in f[7:-1])
    return mapping.splitlines()[1 + code].split()[1:]


@pytest.mark.parametrize("z", ["separate-code", "noseparate-code"])
def test_separate_code_as_gnu_ld(tmp_path: Path, z: str) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    for ours in (False, True):
        done = _link(tmp_path, [obj], [f"-Wl,{BASE_FLAGS},-z,{z}"], "out", ours=ours)
        assert done.returncode == 0, done.stderr
        code = _code_segment_sections(tmp_path / "out")
        assert ".text" in code
        # separate-code: executable pages hold code only; noseparate-code: .rodata too
        assert (".rodata" in code) is (z == "noseparate-code"), (ours, code)
        assert _run(tmp_path / "out") == "1 0 1\n"


def test_max_page_size_aligns_segments_as_gnu_ld(tmp_path: Path) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    for ours in (False, True):
        done = _link(tmp_path, [obj], [f"-Wl,{BASE_FLAGS},-z,max-page-size=0x200000"], "out",
                     ours=ours)
        assert done.returncode == 0, done.stderr
        loads = _loads(tmp_path / "out")
        assert {align for *_, align in loads} == {0x200000}
        assert all(off % align == vaddr % align for _, off, vaddr, align in loads)
        assert _run(tmp_path / "out") == "1 0 1\n"


COMMONS = ("char c1; double d1; char c2[3]; long double ld1; int i1; short s1;\n"
           "int main(void) { return 0; }\n")


def _common_alignments(path: Path) -> list[int]:
    """The alignments of the COMMON symbols, in address order."""
    align = {"c1": 1, "c2": 1, "s1": 2, "i1": 4, "d1": 8, "ld1": 16}
    text = subprocess.run(["nm", "-n", str(path)], capture_output=True, text=True,
                          check=True).stdout
    return [align[f[2]] for f in (line.split() for line in text.splitlines())
            if len(f) == 3 and f[2] in align]


@pytest.mark.parametrize(("flag", "descending"), [
    ("--sort-common", True), ("--sort-common=descending", True),
    ("--sort-common=ascending", False),
])
def test_sort_common_orders_commons_by_alignment_as_gnu_ld(tmp_path: Path, flag: str,
                                                            descending: bool) -> None:
    c = tmp_path / "cm.c"
    c.write_text(COMMONS)
    obj = tmp_path / "cm.o"
    subprocess.run(["gcc", "-fcommon", "-c", str(c), "-o", str(obj)], check=True)
    for ours in (False, True):
        done = _link(tmp_path, [obj], [f"-Wl,{flag}"], "out", ours=ours)
        assert done.returncode == 0, done.stderr
        order = _common_alignments(tmp_path / "out")
        assert order == sorted(order, reverse=descending), (ours, order)
    done = _link(tmp_path, [obj], [], "out", ours=True)  # without: the objects' order
    assert _common_alignments(tmp_path / "out") == [1, 8, 1, 16, 4, 2]


def test_text_segment_sets_the_image_base_as_gnu_ld(tmp_path: Path) -> None:
    obj = _object(tmp_path, WRAP_DEFSYM)
    for ours in (False, True):
        done = _link(tmp_path, [obj], [f"-Wl,{BASE_FLAGS},-Ttext-segment=0x10000000"], "out",
                     ours=ours)
        assert done.returncode == 0, done.stderr
        assert _loads(tmp_path / "out")[0][2] == 0x10000000
        assert _run(tmp_path / "out") == "1 0 1\n"


DLSYM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int exported_fn(void) { return 42; }
int other_fn(void) { return 1; }
int data_obj = 7;
int main(void) {
    printf("%d %d %d\n", dlsym(RTLD_DEFAULT, "exported_fn") != 0,
           dlsym(RTLD_DEFAULT, "other_fn") != 0, dlsym(RTLD_DEFAULT, "data_obj") != 0);
    return 0;
}
"""


@pytest.mark.parametrize(("flags", "expected"), [
    ("", "0 0 0\n"), ("--dynamic-list=LIST", "1 0 0\n"), ("--dynamic-list-data", "0 0 1\n"),
    ("--dynamic-list,LIST,--dynamic-list-data", "1 0 1\n"),
])
def test_dynamic_list_exports_as_gnu_ld(tmp_path: Path, flags: str, expected: str) -> None:
    obj = _object(tmp_path, DLSYM, "dl")
    listing = tmp_path / "dl.list"
    listing.write_text("{\n  exported_fn; /* a comment */\n  nothing*;\n};\n")
    extra = [f"-Wl,{flags.replace('LIST', str(listing))}"] if flags else []
    for ours in (False, True):
        done = _link(tmp_path, [obj], ["-ldl", *extra], "out", ours=ours)
        assert done.returncode == 0, done.stderr
        assert _run(tmp_path / "out") == expected, (ours, flags)


def test_dynamic_list_cpp_patterns_refused_in_one_line(tmp_path: Path) -> None:
    listing = tmp_path / "cpp.list"
    listing.write_text('{ extern "C++" { "ns::f()"; }; };\n')
    obj = _object(tmp_path, DLSYM, "dl")
    done = _link(tmp_path, [obj], ["-ldl", f"-Wl,--dynamic-list={listing}"], "out", ours=True)
    assert done.returncode == 1
    assert [line for line in done.stderr.splitlines() if "linkharness" in line] == [
        f'linkharness: error: {listing}: --dynamic-list extern "C++" patterns are not supported']


def test_wrap_in_a_static_link_wraps_libc_internal_calls_as_gnu_ld(tmp_path: Path) -> None:
    # libc.a's own undefined references to malloc are wrapped too: the count is libc's.
    obj = _object(tmp_path, WRAP_DEFSYM)
    outputs = []
    for ours in (False, True):
        done = _link(tmp_path, [obj], ["-static", f"-Wl,{BASE_FLAGS}"], f"out{ours}",
                     ours=ours)
        assert done.returncode == 0, done.stderr
        outputs.append(_run(tmp_path / f"out{ours}"))
    assert outputs[0] == outputs[1]
    assert int(outputs[0].split()[0]) >= 1


def test_an_empty_dynamic_list_is_refused(tmp_path: Path) -> None:
    """GNU ld and gold reject `{ };` as a syntax error (lld reads it as "bind every export
    locally"); linkharness refuses it in one line rather than read it as no list at all."""
    from linker.dynamic_list import read_dynamic_list
    listing = tmp_path / "empty.list"
    listing.write_text("{ /* nothing */ };\n")
    with pytest.raises(LinkError, match="names no symbol"):
        read_dynamic_list(str(listing))
