"""The emulated guest cannot reach the host (issue 13): through every call the emulated
libc or kernel implements, and through the raw system calls it does not, a guest program
cannot open, create, write or delete host files, run programs or open a network
connection; and `linkharness run` on a hostile executable (an endless loop, an allocation
storm, a huge segment) stays within its limits.

Programs are compiled with gcc (x86-64 and -m32), linked by gcc's own linker (what the
guest is, not how it was linked, is the subject), and run under oracle.run / the CLI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oracle.emulate import run

LIBC_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

int main(int argc, char **argv) {
    const char *secret = argv[1], *created = argv[2], *victim = argv[3];
    const char *touched = argv[4];
    int port = atoi(argv[5]);
    char buf[64] = {0};
    FILE *f = fopen(secret, "r");              /* a host file the guest must not see */
    if (f) { fread(buf, 1, sizeof buf - 1, f); fclose(f); }
    printf("read:[%s]\n", buf);
    f = fopen(created, "w");                   /* a host path the guest must not create */
    if (f) { fputs("guest was here", f); fclose(f); }
    f = fopen(victim, "a");                    /* nor append to */
    if (f) { fputs("guest was here", f); fclose(f); }
    printf("remove:%d unlink:%d\n", remove(victim), unlink(victim));
    fflush(stdout);
    if (strcmp(argv[6], "system") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "touch %s", touched);
        printf("system:%d\n", system(cmd));
    } else if (strcmp(argv[6], "exec") == 0) {
        execl("/usr/bin/touch", "touch", touched, (char *)0);
        printf("exec returned\n");
    } else if (strcmp(argv[6], "fork") == 0) {
        printf("fork:%d\n", (int)fork());
    } else if (strcmp(argv[6], "socket") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = inet_addr("127.0.0.1");
        printf("socket:%d connect:%d\n", s, s < 0 ? -1 : connect(s, (void *)&a, sizeof a));
    }
    return 0;
}
"""

# Raw system calls, no libc: open/openat/creat with O_CREAT, unlink, rename, mkdir,
# execve, fork, socket (x86-64 numbers; i386 through int $0x80 with its numbers).
RAW_PROGRAM = r"""
#if defined(__x86_64__)
static long sys(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}
enum { OPEN = 2, CREAT = 85, UNLINK = 87, RENAME = 82, MKDIR = 83, EXECVE = 59, FORK = 57,
       SOCKET = 41, EXIT = 60, OPENAT = 257 };
#else
static long sys(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
enum { OPEN = 5, CREAT = 8, UNLINK = 10, RENAME = 38, MKDIR = 39, EXECVE = 11, FORK = 2,
       SOCKET = 359, EXIT = 1, OPENAT = 295 };
#endif
static const char created[] = CREATED, victim[] = VICTIM, moved[] = MOVED, dir[] = DIR;
static const char sh[] = "/usr/bin/touch";
void _start(void) {
    const char *argv[] = {sh, created, 0};
    int bad = 0;
    bad |= sys(OPEN, (long)created, 0101, 0644) >= 0;          /* O_WRONLY|O_CREAT */
    bad |= sys(OPENAT, -100, (long)created, 0101) >= 0;        /* AT_FDCWD */
    bad |= sys(CREAT, (long)created, 0644, 0) >= 0;
    bad |= sys(UNLINK, (long)victim, 0, 0) >= 0;
    bad |= sys(RENAME, (long)victim, (long)moved, 0) >= 0;
    bad |= sys(MKDIR, (long)dir, 0755, 0) >= 0;
    bad |= sys(SOCKET, 2, 1, 0) >= 0;
    bad |= sys(FORK, 0, 0, 0) > 0;
    bad |= sys(EXECVE, (long)sh, (long)argv, 0) >= 0;
    sys(EXIT, bad ? 1 : 7, 0, 0);
}
"""


def _gcc(tmp: Path, source: str, name: str, m32: bool, extra: list[str]) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    exe = tmp / name
    subprocess.run(["gcc", *(["-m32"] if m32 else []), "-O1", "-no-pie", "-fno-pie",
                    *extra, str(src), "-o", str(exe)], check=True, capture_output=True)
    return exe


@pytest.fixture
def host(tmp_path: Path) -> dict[str, Path]:
    """Host files a guest must leave alone, and paths it must not create."""
    paths = {name: tmp_path / "host" / name for name in
             ("secret", "victim", "created", "touched", "moved", "dir")}
    paths["secret"].parent.mkdir()
    paths["secret"].write_text("HOST-SECRET")
    paths["victim"].write_text("victim")
    return paths


def _untouched(host: dict[str, Path]) -> None:
    assert host["secret"].read_text() == "HOST-SECRET"
    assert host["victim"].read_text() == "victim"
    for name in ("created", "touched", "moved", "dir"):
        assert not host[name].exists(), f"the guest made {host[name]}"


@pytest.mark.parametrize("m32", [False, True], ids=["x86-64", "i386"])
@pytest.mark.parametrize("action", ["none", "system", "exec", "fork", "socket"])
def test_libc_calls_stay_in_the_guest(m32: bool, action: str, host: dict[str, Path],
                                      tmp_path: Path) -> None:
    exe = _gcc(tmp_path, LIBC_PROGRAM, "guest", m32, [])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    argv = [str(exe), str(host["secret"]), str(host["created"]), str(host["victim"]),
            str(host["touched"]), str(port), action]
    # the guest also gets a seeded file system: a copy, never written back
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "seeded.txt").write_text("seed")
    result = run(exe, argv, timeout=10.0, files_from=seed)
    time.sleep(0.05)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing connected
    listener.close()
    _untouched(host)
    assert (seed / "seeded.txt").read_text() == "seed"
    assert b"HOST-SECRET" not in result.stdout + result.stderr
    if action == "none":
        assert result.exit_code == 0 and not result.faults, result.faults
        assert b"read:[]" in result.stdout


@pytest.mark.parametrize("m32", [False, True], ids=["x86-64", "i386"])
def test_raw_system_calls_reach_nothing(m32: bool, host: dict[str, Path],
                                        tmp_path: Path) -> None:
    defines = [f"-D{k.upper()}=\"{host[k]}\"" for k in ("created", "victim", "moved", "dir")]
    exe = _gcc(tmp_path, RAW_PROGRAM, "raw", m32, ["-static", "-nostdlib", *defines])
    result = run(exe, timeout=10.0)
    _untouched(host)
    assert result.exit_code == 7, (result.exit_code, result.faults)


def _linkharness() -> str:
    found = shutil.which("linkharness", path=str(Path(sys.executable).parent))
    assert found is not None
    return found


ENDLESS = "int main(void) { for (;;) ; }"
GREEDY = ("#include <stdlib.h>\n"
          "int main(void) { for (;;) { char *p = malloc(1 << 20); if (!p) return 3; p[0] = 1; } }")


@pytest.mark.parametrize("program,options", [
    (ENDLESS, ["--timeout=1"]),
    (GREEDY, ["--timeout=5", "--memory-cap=16777216"]),
], ids=["endless", "greedy"])
def test_linkharness_run_stays_within_its_limits(program: str, options: list[str],
                                                 tmp_path: Path) -> None:
    exe = _gcc(tmp_path, program, "hostile", False, [])
    start = time.monotonic()
    done = subprocess.run([_linkharness(), "run", *options, str(exe)],
                          capture_output=True, timeout=60, check=False)
    elapsed = time.monotonic() - start
    assert elapsed < 5 + 4, f"{elapsed:.1f}s"  # the limit, plus starting Python
    # the endless loop is stopped (a fault: exit status not 0); the greedy one sees malloc
    # fail under the cap (exit 3) or is stopped
    assert done.returncode != 0, done


def test_linkharness_run_refuses_a_huge_segment_quickly(tmp_path: Path) -> None:
    exe = _gcc(tmp_path, "int main(void) { return 0; }", "huge", False, [])
    data = bytearray(exe.read_bytes())
    phoff = int.from_bytes(data[32:40], "little")
    phnum = int.from_bytes(data[56:58], "little")
    loads = [phoff + 56 * i for i in range(phnum)
             if int.from_bytes(data[phoff + 56 * i:phoff + 56 * i + 4], "little") == 1]
    data[loads[-1] + 40:loads[-1] + 48] = (0x7FFF_0000_0000).to_bytes(8, "little")
    exe.write_bytes(bytes(data))
    start = time.monotonic()
    done = subprocess.run([_linkharness(), "run", "--timeout=3", str(exe)],
                          capture_output=True, timeout=60, check=False)
    assert time.monotonic() - start < 3 + 4
    assert done.returncode != 0
    assert len(done.stderr.decode(errors="replace").strip().splitlines()) <= 2
