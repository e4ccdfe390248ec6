"""Mach-O programs for the emulated dyld and the Mach-O checker: C compiled by clang-14 for
Darwin (prototypes only, no SDK headers) or assembled by llvm-mc, linked by linkharness
(modern and classic) and by ld64.lld-14 against the shipped libSystem.tbd.  Built once per
session."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import link

# --import-mode=importlib puts no test directory on sys.path: the hand-built i386 image
# (macho_i386_image) beside this file is imported by plain name.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

LIBSYSTEM_TBD = Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"
TRIPLE = "x86_64-apple-macosx10.9"

SOURCES = {
    # puts, printf, fprintf through ___stdoutp (a GOT bind), a data pointer (a rebase),
    # an atexit handler run by exit(main()), argc: exits 7.
    "hello.c": r"""
int printf(const char *, ...);
int fprintf(void *, const char *, ...);
int puts(const char *);
int atexit(void (*)(void));
extern void *__stdoutp;
static int counter = 3;
int *pointer = &counter;
static void bye(void) { puts("bye"); }
int main(int argc, char **argv) {
    atexit(bye);
    puts("hello");
    printf("argc=%d counter=%d\n", argc, *pointer);
    fprintf(__stdoutp, "%s\n", argv[argc - 1]);
    return 7;
}
""",
    # classic mode: no LC_MAIN, so `start` calls exit(main()); no pointers to imports in data
    "classic.c": r"""
int puts(const char *);
void exit(int);
int main(void);
void start(void) { exit(main()); }
int main(void) { puts("hello"); return 3; }
""",
    # imports from a libtrace dylib: two recorders and a data object
    "libtrace.c": r"""
int printf(const char *, ...);
long lt1_f2_a2(long, long);
long lt1_f0_a0(void);
extern unsigned lt1_d1[4];
unsigned *second = &lt1_d1[1];  /* a bind with addend 4 */
long (*recorder)(long, long) = lt1_f2_a2;  /* a function pointer bound in __data */
int main(void) {
    long r = recorder(5, 7);
    printf("%ld %ld %u\n", r, lt1_f0_a0(), *second);
    return 0;
}
""",
    # binds in __data, a rebased function pointer called back by qsort, the stack guard,
    # malloc/sprintf/strlen, environ through a GOT and a data pointer, stderr
    "kitchen.c": r"""
int printf(const char *, ...);
int puts(const char *);
void qsort(void *, unsigned long, unsigned long, int (*)(const void *, const void *));
void *malloc(unsigned long);
void free(void *);
unsigned long strlen(const char *);
int sprintf(char *, const char *, ...);
int fprintf(void *, const char *, ...);
extern char **environ;
extern void *__stderrp;
int (*say)(const char *) = puts;
char ***environ_pointer = &environ;
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static int (*cmp_pointer)(const void *, const void *) = cmp;
int main(int argc, char **argv, char **envp) {
    int v[5] = {5, 3, 9, 1, 4};
    char buf[16];
    qsort(v, 5, sizeof v[0], cmp_pointer);
    char *m = malloc(32);
    sprintf(m, "%d%d%d%d%d", v[0], v[1], v[2], v[3], v[4]);
    say(m);
    sprintf(buf, "%s", envp[0]);
    printf("len=%lu env=%s same=%d\n", strlen(m), buf, *environ_pointer == environ);
    fprintf(__stderrp, "err\n");
    free(m);
    return argc;
}
""",
    "null.c": r"""
int puts(const char *);
int main(void) { volatile int *p = (int *)0; puts("before"); return *p; }
""",
    # initializers (S_MOD_INIT_FUNC_POINTERS) get argc/argv before main; a destructor
    # (__cxa_atexit with ___dso_handle) runs at exit
    "ctors.c": r"""
int puts(const char *);
int printf(const char *, ...);
static int order;
__attribute__((constructor)) static void first(int argc, char **argv) {
    printf("ctor %d argc=%d %s\n", ++order, argc, argv[argc - 1]);
}
__attribute__((constructor)) static void second(void) { printf("ctor %d\n", ++order); }
__attribute__((destructor)) static void last(void) { puts("dtor"); }
int main(void) { puts("main"); return order; }
""",
    # Darwin's assert() calls __assert_rtn (exported by a libSystem sub-library here)
    "assert.c": r"""
int puts(const char *);
void __assert_rtn(const char *, const char *, int, const char *) __attribute__((noreturn));
#define assert(e) ((e) ? (void)0 : __assert_rtn(__func__, "as.c", __LINE__, #e))
int main(int argc, char **argv) { puts("start"); assert(argc == 2); return 0; }
""",
    # crt1's variables, read without argc/argv
    "progvars.c": r"""
int printf(const char *, ...);
extern const char *__progname;
extern int NXArgc;
extern char **NXArgv;
int main(void) { printf("%s %d %s\n", __progname, NXArgc, NXArgv[1]); return 0; }
""",
    # no libSystem at all: Darwin system calls write and exit; errors set the carry flag
    "syscalls.s": r"""
.text
.globl _main
_main:
    movl $0x2000004, %eax
    movl $1, %edi
    leaq msg(%rip), %rsi
    movl $6, %edx
    syscall
    jc failed
    movl $0x2000004, %eax     # write to a closed descriptor: carry set, rax = EBADF (9)
    movl $7, %edi
    syscall
    jnc failed
    leal 33(%rax), %edi       # exit(42)
    movl $0x2000001, %eax
    syscall
failed:
    movl $0x2000001, %eax
    movl $1, %edi
    syscall
    hlt
.section __TEXT,__cstring
msg: .asciz "hello\n"
""",
}

LIBTRACE_TBD = """--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos ]
install-name:    '/usr/lib/libtrace1.dylib'
current-version: 1
compatibility-version: 1
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ _lt1_f2_a2, _lt1_f0_a0, _lt1_d1 ]
...
"""

LIBC_EXTRA_TBD = """--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos ]
install-name:    '/usr/lib/system/libsystem_c.dylib'
current-version: 1
compatibility-version: 1
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ ___assert_rtn, _NXArgc, _NXArgv, ___progname ]
...
"""
EXTRA_TBDS = {"libtrace.c": ("libtrace1.tbd", LIBTRACE_TBD),
              "assert.c": ("libc_extra.tbd", LIBC_EXTRA_TBD),
              "progvars.c": ("libc_extra.tbd", LIBC_EXTRA_TBD)}

# flavour: "lh" (linkharness, modern), "classic" (linkharness --macho-classic), "lld"
Builder = Callable[[str, str], Path]


@pytest.fixture(scope="session")
def macho(tmp_path_factory: pytest.TempPathFactory) -> Builder:
    """macho(source, flavour) -> path of the linked executable (built once)."""
    out = tmp_path_factory.mktemp("macho")
    for name, text in EXTRA_TBDS.values():
        (out / name).write_text(text)
    cache: dict[tuple[str, str], Path] = {}

    def obj(source: str) -> Path:
        src = out / source
        result = src.with_suffix(".o")
        if not result.exists():
            src.write_text(SOURCES[source])
            if source.endswith(".s"):
                cmd = ["llvm-mc-14", f"-triple={TRIPLE}", "-filetype=obj", str(src), "-o",
                       str(result)]
            else:
                cmd = ["clang-14", f"--target={TRIPLE}", "-O1", "-w", "-c", str(src), "-o",
                       str(result)]
            subprocess.run(cmd, check=True, capture_output=True)
        return result

    def build(source: str, flavour: str) -> Path:
        key = (source, flavour)
        if key not in cache:
            o = obj(source)
            exe = out / f"{Path(source).stem}.{flavour}"
            libs = [] if source.endswith(".s") else ["-lSystem"]
            extra = [str(out / EXTRA_TBDS[source][0])] if source in EXTRA_TBDS else []
            if flavour == "lld":
                tbds = [] if source.endswith(".s") else [str(LIBSYSTEM_TBD)]
                subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos",
                                "10.9", "11.0", "-o", str(exe), str(o), *tbds, *extra],
                               check=True, capture_output=True)
            else:
                classic = flavour == "classic"
                link([str(o), *libs, *extra], exe, target="macho-x86_64",
                     macho_classic=classic, entry="_start" if classic else None)
            cache[key] = exe
        return cache[key]

    return build
