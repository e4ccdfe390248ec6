"""What the held-out programs run (tests/real_suites/heldout_macho_programs.py) found wrong
in the emulated libSystem and dyld, each held to a small program of our own: built for
macOS by clang-14 with the project's Darwin headers, linked by linkharness, run under
`oracle.run` lazily bound and bound at load, it must print and exit as gcc's build of the
same source does natively on Linux (-m32 for i386)."""

from __future__ import annotations

import importlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from linker.macho.cli import main as ld64_main
from oracle import run

ROOT = Path(__file__).resolve().parents[3]
INCLUDE = ROOT / "tests" / "macho_include"
LIBSYSTEM = ROOT / "linker" / "macho" / "data" / "libSystem.tbd"
TARGETS = {"x86_64": ("x86_64-apple-macos10.15", "10.15", "-m64"),
           "i386": ("i386-apple-macos10.7", "10.7", "-m32")}


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    arches: tuple[str, ...] = ("x86_64", "i386")
    args: tuple[str, ...] = ()
    stdin: bytes = b""


CASES = [
    # c-testsuite's 00204: i386 macOS passes a variadic long double (16 bytes there) in a
    # 16-byte aligned slot; printf read 12 bytes from the next 4-byte cell
    Case("variadic_long_double", r"""
#include <stdio.h>
long double third = 1.0L / 3;
int main(void) {
    printf("%d %.1Lf %d\n", 7, (long double)31.1, 9);
    printf("%d %d %.3Lf %s %.2Lf %d\n", 1, 2, third, "x", -2.5L, 3);
    return 0;
}
"""),
    # the same slot when the long double reaches printf through a va_list (vprintf & co.)
    Case("va_list_long_double", r"""
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
static void say(const char *fmt, ...) {
    va_list ap;
    char buf[96], *heap = NULL;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    int n = vasprintf(&heap, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    printf("[%s] %d [%s]\n", buf, n, heap);
    free(heap);
}
int main(void) {
    say("%d %.1Lf %d\n", 7, (long double)31.1, 9);
    say("%s %d %.4Lf %.2Lf %c\n", "two", 2, 1.0L / 3, -2.5L, 'z');
    return 0;
}
"""),
    # the Benchmarks Game's fasta, binary-trees, fannkuch-redux: on i386 macOS LLVM turns
    # fprintf/printf of a plain string into libSystem's `fwrite$UNIX2003` and
    # `fputs$UNIX2003`, which the libSystem stub lacked (no link)
    Case("unix2003_variants", r"""
#include <stdio.h>
int main(int argc, char **argv) {
    fprintf(stdout, "plain line\n");
    fprintf(stdout, "%s", argv[0]);
    fprintf(stderr, "to stderr\n");
    return 3;
}
""", arches=("i386",)),
    # mandelbrot (_mm_malloc), fannkuch-redux (sysconf), revcomp (sched.h), fasta (err.h),
    # c-testsuite's 00220 (wchar_t): libSystem functions the stub, the headers or the
    # emulation lacked
    Case("posix_and_bsd", r"""
#include <err.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <wchar.h>
int main(void) {
    void *blocks[4];
    for (int i = 0; i < 4; i++) {
        int rc = posix_memalign(&blocks[i], 64 << i, 100 + i);
        printf("memalign %d: %d %d\n", i, rc, (int)((unsigned long)blocks[i] % (64 << i)));
    }
    free(blocks[1]);
    free(blocks[0]);
    void *again = NULL;
    printf("odd alignment: %d\n", posix_memalign(&again, 24, 8) == EINVAL);
    printf("page %ld, cpus %d, yield %d\n", sysconf(_SC_PAGESIZE),
           sysconf(_SC_NPROCESSORS_ONLN) >= 1, sched_yield());
    wchar_t wide[] = L"w\u00e9";
    printf("%d %X %X\n", (int)sizeof(wchar_t), (unsigned)wide[0], (unsigned)wide[1]);
    for (const char *p = "unlocked\n"; *p; p++)
        putchar_unlocked(*p);
    putc_unlocked('!', stdout);
    putchar_unlocked(getchar_unlocked());
    putchar_unlocked(getc_unlocked(stdin));
    fflush(stdout);
    warnx("plain %d", 1);
    errno = ENOENT;
    warn("with errno %s", "x");
    errno = EACCES;
    warn(NULL);
    errno = EINVAL;
    err(5, "bye %d", 2);
}
""", stdin=b"ab"),
    # zlib's gzopen/gzseek (example, minigzip): open takes BSD's O_* values, lseek a 64-bit
    # off_t on i386 too, and read serves any descriptor (Darwin's read served stdin only)
    Case("descriptor_io", r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char buf[64] = {0};
    int fd = open("data.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    printf("open %d write %ld\n", fd, (long)write(fd, "hello, descriptor world\n", 24));
    printf("close %d\n", close(fd));
    int again = open("data.bin", O_WRONLY | O_CREAT | O_EXCL, 0644);
    printf("again %d errno %d\n", again, errno);
    fd = open("data.bin", O_WRONLY | O_APPEND);
    printf("append %ld\n", (long)write(fd, "more\n", 5));
    close(fd);
    fd = open("data.bin", O_RDONLY);
    printf("end %lld\n", (long long)lseek(fd, 0, SEEK_END));
    printf("set %lld\n", (long long)lseek(fd, 7, SEEK_SET));
    printf("read %ld [%s]\n", (long)read(fd, buf, 10), buf);
    printf("cur %lld\n", (long long)lseek(fd, -3, SEEK_CUR));
    memset(buf, 0, sizeof buf);
    printf("read %ld [%s]\n", (long)read(fd, buf, sizeof buf - 1), buf);
    close(fd);
    int missing = open("nope.bin", O_RDONLY);
    printf("missing %d errno %d\n", missing, errno);
    return 0;
}
"""),
    # bzip2: it names stat, lstat, fchmod, fchown and utime (calling them only on named
    # files): the headers declare them and the stub exports them (the stat family as
    # libSystem's $INODE64 variants), so such a program links and runs on stdin
    Case("names_the_stat_family", r"""
#include <stdio.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <unistd.h>
#include <utime.h>
int main(int argc, char **argv) {
    struct stat st;
    struct utimbuf times = {0, 0};
    if (argc > 3) {  /* never here */
        stat(argv[1], &st);
        lstat(argv[1], &st);
        fstat(0, &st);
        fchmod(1, st.st_mode);
        fchown(1, st.st_uid, st.st_gid);
        utime(argv[2], &times);
    }
    printf("%d %d %d\n", S_ISDIR(S_IFDIR), S_ISREG(S_IFDIR), S_ISREG(S_IFREG | S_IRUSR));
    return 0;
}
"""),
    # bzip2 on named files: stat, lstat and fstat fill Darwin's 64-bit-inode struct stat
    Case("stat_inode64", r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
static void show(const char *what, int rc, struct stat *st) {
    /* sizes of regular files only: a directory's, and block counts, are the host's */
    printf("%s: %d reg %d dir %d size %lld\n", what, rc, S_ISREG(st->st_mode),
           S_ISDIR(st->st_mode), S_ISREG(st->st_mode) ? (long long)st->st_size : -1LL);
}
int main(void) {
    struct stat st;
    int fd = open("made.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "twelve bytes", 12);
    show("fstat", fstat(fd, &st), &st);
    close(fd);
    show("stat", stat("made.txt", &st), &st);
    show("lstat", lstat("made.txt", &st), &st);
    show("dir", stat(".", &st), &st);
    int missing = stat("absent.txt", &st);
    printf("missing %d errno %d\n", missing, errno);
    return 0;
}
"""),
    # Lua's string patterns (%c, %g): iscntrl, isgraph and isblank are libSystem functions
    # the emulation and the stub lacked
    Case("ctype_classes", r"""
#include <ctype.h>
#include <stdio.h>
int main(void) {
    int counts[3] = {0, 0, 0}, sum = 0;
    for (int c = -1; c < 256; c++) {
        counts[0] += iscntrl(c) != 0;
        counts[1] += isgraph(c) != 0;
        counts[2] += isblank(c) != 0;
        sum += (iscntrl(c) != 0) * c + (isgraph(c) != 0) * 3 * c + (isblank(c) != 0) * 7 * c;
    }
    printf("%d %d %d %d\n", counts[0], counts[1], counts[2], sum);
    return 0;
}
"""),
]


def _native(case: Case, source: Path, arch: str) -> tuple[bytes, bytes, int]:
    exe = source.with_name(f"native-{arch}")
    subprocess.run(["gcc", TARGETS[arch][2], "-O1", "-w", "-o", str(exe), str(source), "-lm"],
                   check=True)
    done = subprocess.run([case.name, *case.args], executable=exe, input=case.stdin,
                          capture_output=True, check=False, timeout=30,
                          cwd=exe.parent)  # the files it makes go to the scratch directory
    return done.stdout, done.stderr, done.returncode


def _darwin(source: Path, arch: str) -> Path:
    triple, min_os, _ = TARGETS[arch]
    obj, exe = source.with_name(f"{arch}.o"), source.with_name(f"{arch}.macho")
    subprocess.run(["clang-14", f"--target={triple}", "-nostdlibinc", "-isystem", str(INCLUDE),
                    "-O1", "-w", "-c", "-o", str(obj), str(source)], check=True)
    assert ld64_main(["-arch", arch, "-platform_version", "macos", min_os, "12.0",
                      str(LIBSYSTEM), str(obj), "-o", str(exe)]) == 0
    return exe


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_runs_as_natively(case: Case, tmp_path: Path) -> None:
    source = tmp_path / f"{case.name}.c"
    source.write_text(case.source)
    wrong = []
    for arch in case.arches:
        want = _native(case, source, arch)
        exe = _darwin(source, arch)
        for bind in ("lazy", "now"):
            got = run(str(exe), [case.name, *case.args], bind=bind, stdin=case.stdin)
            seen = (got.stdout, got.stderr, got.exit_code)
            if got.faults or seen != want:
                wrong.append(f"{arch} {bind}: {seen} {got.faults}; natively {want}")
    assert wrong == []


def test_a_broken_dyld_import_is_not_a_guest_fault(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """While the held-out runs were going, a half-edited module made importing the emulated
    dyld fail, and every Mach-O run came back as a load fault saying the dyld was "not
    there yet": the host's error has to surface as one."""
    source = tmp_path / "hello.c"
    source.write_text("int main(void) { return 0; }\n")
    exe = _darwin(source, "x86_64")
    real = importlib.import_module

    def broken(name: str, package: str | None = None) -> object:
        if name == "oracle.emulate.macho.dyld":
            raise ImportError("cannot import name 'half_written'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ImportError, match="half_written"):
        run(str(exe))
