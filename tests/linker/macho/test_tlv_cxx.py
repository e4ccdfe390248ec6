"""C++ `thread_local` with dynamic initialisation and destructors on Mach-O: clang-14
compiles it to thread wrappers (`__ZTW`) that initialise lazily through ordinary
thread-local guard variables and register each destructor with libdyld's `__tlv_atexit`
(no S_THREAD_LOCAL_INIT_FUNCTION_POINTERS section: clang never emits one).  The emulated
libSystem runs a thread's destructors when its start routine returns, and the main
thread's at exit() before the atexit handlers (Libc's exit calls _tlv_exit first, so
thread_local objects die before static ones).  The program prints and exits as its g++
build natively (the same text on i386: nothing in it depends on the word size)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker import link
from oracle import run
from oracle.check import check

PROGRAM = r"""
extern "C" int printf(const char *, ...);
#include <pthread.h>
struct Noisy {
    const char *name; int n;
    Noisy(const char *s) : name(s), n(0) {}
    ~Noisy() { printf("~%s %d\n", name, n); }
};
static Noisy global("global");
thread_local Noisy local("local");
static int compute(int x) { return x * 3; }
thread_local int dyn = compute(7);
static void *work(void *arg) {
    local.n = (int)(long)arg + dyn;
    printf("thread %d\n", local.n);
    return 0;
}
int main() {
    local.n = 1;
    global.n = 2;
    pthread_t t;
    pthread_create(&t, 0, work, (void *)10);
    pthread_join(t, 0);
    printf("main %d %d\n", local.n, dyn);
    return 3;
}
"""
INCLUDE = str(Path(__file__).resolve().parents[2] / "macho_include")
BUILDS = {"x86_64 opcodes": ("x86_64-apple-macosx10.9", "macho-x86_64", False),
          "x86_64 chained": ("x86_64-apple-macosx10.9", "macho-x86_64", True),
          "i386": ("i386-apple-macosx10.7", "macho-i386", False)}


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int]:
    root = tmp_path_factory.mktemp("tlv-cxx-native")
    (root / "t.cpp").write_text(PROGRAM)
    subprocess.run(["g++", "-w", "-pthread", "-o", str(root / "t"), str(root / "t.cpp")],
                   check=True)
    done = subprocess.run([str(root / "t")], capture_output=True, check=False)
    return done.stdout, done.returncode


@pytest.mark.parametrize("build", BUILDS)
def test_thread_local_objects_live_and_die_as_natively(build: str, native: tuple[bytes, int],
                                                      tmp_path: Path) -> None:
    triple, target, chains = BUILDS[build]
    (tmp_path / "t.cpp").write_text(PROGRAM)
    obj = tmp_path / "t.o"
    subprocess.run(["clang++-14", f"--target={triple}", "-nostdlibinc", "-isystem", INCLUDE,
                    "-O1", "-c", "-w", "-o", str(obj), str(tmp_path / "t.cpp")], check=True)
    dump = subprocess.run(["llvm-objdump-14", "--macho", "-r", str(obj)], check=True,
                          capture_output=True, text=True).stdout
    assert "__tlv_atexit" in dump
    out = tmp_path / "t"
    link([obj, "-lSystem"], out, target=target, fixup_chains=chains)
    assert native == (b"thread 31\n~local 31\nmain 1 21\n~local 1\n~global 2\n", 3)
    for bind in ("lazy", "now"):
        result = run(str(out), bind=bind)
        assert (result.stdout, result.exit_code, result.faults) == (*native, [])
    assert check(out) == []
