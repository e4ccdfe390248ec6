"""Reference binaries for the structural checker: two small C programs linked by GNU ld,
gold, lld and mold, 64- and 32-bit, lazy and -z now, IBT PLTs, PIE and static.  Built once
per session; every one of them must pass every rule.  The lazy ones export their symbols
(-rdynamic) so that the hash tables index defined symbols too."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PROGRAMS = {
    "imports": r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int counter = 3;
int main(int argc, char **argv) {
    printf("%d %s\n", argc, argv[0]);
    if (argc > 5)
        printf("%p\n", (void *)puts);  /* non-PIC address of an import: canonical PLT */
    puts("hi");
    char *p = malloc(10);
    strcpy(p, "x");
    counter += (int)strlen(p);
    free(p);
    return counter > 100;
}
""",
    "tls_copy": r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
__thread int tls_counter = 5;
__thread char tls_buf[64];
static int (*indirect_puts)(const char *) = puts;
extern char **environ;
int main(void) {
    tls_counter += environ != 0;
    tls_buf[0] = 'a';
    indirect_puts("ok");
    char *s = strdup("hello");
    int n = atoi("12") + (int)strlen(s) + errno;
    free(s);
    fprintf(stderr, "%d\n", n + tls_counter);
    return 0;
}
""",
}

# name -> (bits, compiler flags, link flags); every variant is linked for every program
VARIANTS: dict[str, tuple[int, list[str], list[str]]] = {
    "x64-bfd-lazy": (64, [], ["-rdynamic", "-fuse-ld=bfd", "-Wl,--hash-style=both"]),
    "x64-bfd-now": (64, [], ["-fuse-ld=bfd", "-Wl,-z,now"]),
    "x64-bfd-ibt": (64, ["-fcf-protection"], ["-fuse-ld=bfd", "-Wl,-z,ibtplt"]),
    "x64-gold-lazy": (64, [], ["-rdynamic", "-fuse-ld=gold", "-Wl,--hash-style=both"]),
    "x64-gold-now": (64, [], ["-fuse-ld=gold", "-Wl,-z,now"]),
    "x64-lld-lazy": (64, [], ["-rdynamic", "-fuse-ld=lld", "-Wl,--hash-style=both"]),
    "x64-lld-now": (64, [], ["-fuse-ld=lld", "-Wl,-z,now"]),
    "x64-lld-ibt": (64, ["-fcf-protection"], ["-fuse-ld=lld", "-Wl,-z,force-ibt"]),
    "x64-mold-lazy": (64, [], ["-rdynamic", "-fuse-ld=mold", "-Wl,--hash-style=both"]),
    "x64-mold-now": (64, [], ["-fuse-ld=mold", "-Wl,-z,now"]),
    "x64-bfd-pie": (64, ["-fpie"], ["-fuse-ld=bfd", "-pie"]),
    "x64-lld-pie": (64, ["-fpie"], ["-fuse-ld=lld", "-pie"]),
    "x64-mold-pie": (64, ["-fpie"], ["-fuse-ld=mold", "-pie"]),
    "x64-static": (64, [], ["-fuse-ld=bfd", "-static"]),
    "x32-bfd-lazy": (32, [], ["-rdynamic", "-fuse-ld=bfd", "-Wl,--hash-style=both"]),
    "x32-bfd-now": (32, [], ["-fuse-ld=bfd", "-Wl,-z,now"]),
    "x32-bfd-ibt": (32, ["-fcf-protection"], ["-fuse-ld=bfd", "-Wl,-z,ibtplt"]),
    "x32-gold-lazy": (32, [], ["-rdynamic", "-fuse-ld=gold"]),
    "x32-gold-now": (32, [], ["-fuse-ld=gold", "-Wl,-z,now"]),
    "x32-lld-lazy": (32, [], ["-rdynamic", "-fuse-ld=lld", "-Wl,--hash-style=both"]),
    "x32-lld-now": (32, [], ["-fuse-ld=lld", "-Wl,-z,now"]),
    "x32-lld-ibt": (32, ["-fcf-protection"], ["-fuse-ld=lld", "-Wl,-z,force-ibt"]),
    "x32-mold-lazy": (32, [], ["-rdynamic", "-fuse-ld=mold"]),
    "x32-mold-now": (32, [], ["-fuse-ld=mold", "-Wl,-z,now"]),
    "x32-bfd-pie": (32, ["-fpie"], ["-fuse-ld=bfd", "-pie"]),
    "x32-lld-pie": (32, ["-fpie"], ["-fuse-ld=lld", "-pie"]),
    "x32-mold-pie": (32, ["-fpie"], ["-fuse-ld=mold", "-pie"]),
    "x32-static": (32, [], ["-fuse-ld=bfd", "-static"]),
}


@dataclass(frozen=True)
class Built:
    """Paths of the linked reference binaries, by "<variant>/<program>"."""

    paths: dict[str, Path]

    def __getitem__(self, key: str) -> Path:
        return self.paths[key]

    def bytes(self, key: str) -> bytes:
        return self.paths[key].read_bytes()


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("check-bins")
    shim = root / "lld-shim"  # gcc -fuse-ld=lld looks for "ld.lld" on its -B path
    shim.mkdir()
    (shim / "ld.lld").symlink_to("/usr/bin/ld.lld-14")
    paths: dict[str, Path] = {}
    for prog, text in PROGRAMS.items():
        src = root / f"{prog}.c"
        src.write_text(text)
        objects: dict[tuple[int, tuple[str, ...]], Path] = {}
        for variant, (bits, cflags, ldflags) in VARIANTS.items():
            key = (bits, tuple(cflags))
            if key not in objects:
                obj = root / f"{prog}-{bits}-{len(objects)}.o"
                pie = [] if "-fpie" in cflags else ["-fno-pie"]
                _run(["gcc", f"-m{bits}", "-O1", *pie, *cflags, "-c", str(src), "-o", str(obj)])
                objects[key] = obj
            out = root / f"{variant}-{prog}"
            nopie = [] if "-pie" in ldflags else ["-no-pie"]
            _run(["gcc", f"-m{bits}", "-B", str(shim), *nopie, *ldflags, str(objects[key]),
                  "-o", str(out)])
            paths[f"{variant}/{prog}"] = out
    return Built(paths)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`ref_key` runs a test over every reference binary, `dyn_key` over the dynamic ones."""
    keys = [f"{v}/{p}" for v in VARIANTS for p in PROGRAMS]
    if "ref_key" in metafunc.fixturenames:
        metafunc.parametrize("ref_key", keys)
    if "dyn_key" in metafunc.fixturenames:
        metafunc.parametrize("dyn_key", [k for k in keys if "static" not in k])


@pytest.fixture(scope="session")
def ld_flags(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[str]]:
    """The gcc driver's flags linking with `linker` (bfd, gold, mold: -fuse-ld; lld and
    linkharness: -B a directory whose `ld` is ld.lld-14, or linkharness's shim), for the
    rule tests that link one program with every linker."""
    lld_dir = tmp_path_factory.mktemp("lld-bin")
    (lld_dir / "ld").symlink_to("/usr/bin/ld.lld-14")

    def flags(linker: str) -> list[str]:
        if linker == "linkharness":
            tool = Path(sys.executable).parent / "linkharness"
            shim = subprocess.run([str(tool), "ld-shim"], capture_output=True, text=True,
                                  check=True).stdout.strip()
            return ["-B", shim]
        if linker == "lld":
            return ["-B", str(lld_dir)]
        return [f"-fuse-ld={linker}"]
    return flags
