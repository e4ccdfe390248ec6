"""Symbol versions (x86-64 ELF): references to a versioned library, as self-checking programs.

`libver.so` (built here with a version script) exports `lv_fn` twice, `lv_fn@VER_1` (returns
1) and the default `lv_fn@@VER_2` (returns 2), and `lv_only@@VER_1` (returns 3).  A case's
objects call them: unversioned (the default, 2), pinned with `.symver` to `@VER_1` (1) or
`@VER_2` (2), and `lv_only` (3), each through the PLT or the GOT.  The executable's
`.gnu.version`/`.gnu.version_r` must make ld.so bind each reference to its version; the
program exits 0 when every call returned what its version returns, else 1 + the number of
the first call that did not.

The same library is also linked by linkharness (`build_library_linkharness`: its `.symver`
definitions exported under their versions, as GNU ld exports them), and every executable,
GNU ld's and linkharness's, must bind the same way against it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from linker import link

LIB_SOURCE = r"""
int lv_fn_v1(void) { return 1; }
int lv_fn_v2(void) { return 2; }
int lv_only(void) { return 3; }
__asm__(".symver lv_fn_v1, lv_fn@VER_1");
__asm__(".symver lv_fn_v2, lv_fn@@VER_2");
"""
VERSION_SCRIPT = "VER_1 { global: lv_fn; lv_only; local: *; };\nVER_2 { global: lv_fn; } VER_1;\n"
REFERENCES = {"default": ("lv_fn", 2), "VER_1": ("lv_fn@VER_1", 1),
              "VER_2": ("lv_fn@VER_2", 2), "only": ("lv_only", 3)}
FORMS = ("plt", "got")


@dataclass(frozen=True)
class VersionCase:
    calls: tuple[tuple[int, str, str], ...]  # (from object 0/1, reference, form)


def version_cases() -> st.SearchStrategy[VersionCase]:
    call = st.tuples(st.integers(0, 1), st.sampled_from(sorted(REFERENCES)),
                     st.sampled_from(FORMS))
    return st.builds(VersionCase, st.lists(call, min_size=1, max_size=5).map(tuple))


SAMPLES = (
    VersionCase(((0, "default", "plt"), (0, "VER_1", "plt"), (1, "VER_1", "got"),
                 (1, "VER_2", "plt"), (0, "only", "got"))),
    VersionCase(((1, "default", "got"), (0, "VER_1", "got"), (1, "only", "plt"))),
)


def describe(case: VersionCase) -> set[str]:
    labels = {f"versions:{ref}" for _, ref, _ in case.calls}
    if len({ref for _, ref, _ in case.calls} & {"default", "VER_1"}) == 2:
        labels.add("versions:two_versions_of_one_name")
    return labels


def object_texts(case: VersionCase) -> list[str]:
    bodies: list[list[str]] = [[], []]
    symver: list[set[str]] = [set(), set()]
    for n, (owner, ref, form) in enumerate(case.calls):
        name, value = REFERENCES[ref]
        local = name
        if "@" in name:  # a local alias pinned to the version (as glibc's compat references)
            local = f"lh_{name.replace('@', '_')}"
            symver[owner].add(f".symver {local}, {name}")
        call = f"call {local}@PLT" if form == "plt" else f"call *{local}@GOTPCREL(%rip)"
        bodies[owner] += [call, f"cmpl ${value}, %eax", f"je .Lok{n}",
                          "testl %r12d, %r12d", f"jnz .Lok{n}", f"movl ${n + 1}, %r12d",
                          f".Lok{n}:"]
    texts = []
    for owner in (0, 1):
        lines = sorted(symver[owner]) + [".text"]
        if owner == 0:
            lines += [".globl _start", "_start:", "andq $-16, %rsp", "xorl %r12d, %r12d",
                      "call lh_versions1", *bodies[0], "movl %r12d, %edi", "movl $231, %eax",
                      "syscall"]
        else:
            lines += [".globl lh_versions1", "lh_versions1:", "subq $8, %rsp", *bodies[1],
                      "addq $8, %rsp", "ret"]
        lines += ['.section .note.GNU-stack,"",@progbits', ""]
        texts.append("\n".join(lines))
    return texts


def write_objects(case: VersionCase, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for n, text in enumerate(object_texts(case)):
        src, obj = directory / f"v{n}.s", directory / f"v{n}.o"
        src.write_text(text)
        subprocess.run(["as", "--64", "-o", str(obj), str(src)], check=True,
                       capture_output=True)
        out.append(obj)
    return out


def build_library(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "libver.c").write_text(LIB_SOURCE)
    (directory / "libver.map").write_text(VERSION_SCRIPT)
    lib = directory / "libver.so"
    subprocess.run(["gcc", "-O1", "-fPIC", "-shared", "-Wl,-soname,libver.so",
                    f"-Wl,--version-script={directory / 'libver.map'}", "-o", str(lib),
                    str(directory / "libver.c")], check=True, capture_output=True)
    return lib


def build_library_linkharness(directory: Path) -> Path:
    """libver.so from the same source and script, linked by linkharness (-shared)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "libver.c").write_text(LIB_SOURCE)
    (directory / "libver.map").write_text(VERSION_SCRIPT)
    obj = directory / "libver.o"
    subprocess.run(["gcc", "-O1", "-fPIC", "-c", "-o", str(obj), str(directory / "libver.c")],
                   check=True, capture_output=True)
    lib = directory / "libver.so"
    link([str(obj)], lib, shared=True, soname="libver.so",
         version_scripts=[str(directory / "libver.map")])
    return lib
