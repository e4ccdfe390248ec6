"""A tiny C program that runs one link and reports its time and peak RSS exactly.

Why not Python's own fork: Linux counts the memory a child had before `exec` in its
`ru_maxrss`, and a child forked (or vforked) from this Python process starts with ~20 MB of
it, which would be the floor of every linker's figure. Forked from this ~1 MB program, a
child's peak RSS is its own. The program also times the child with CLOCK_MONOTONIC from
fork to reaping, so no interpreter overhead is in the wall time.

    runner RESULT_FILE TIMEOUT_S COMMAND...   -> RESULT_FILE: "wall_ns user_us sys_us maxrss_kib status"

status is the exit status, or 128 + the signal number; 255 if the command could not be run.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

SOURCE = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;
static void on_alarm(int sig) { (void)sig; kill(child, SIGKILL); }

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: runner RESULT TIMEOUT CMD...\n"); return 2; }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    child = fork();
    if (child < 0) { perror("fork"); return 2; }
    if (child == 0) { execvp(argv[3], argv + 3); perror(argv[3]); _exit(255); }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)atoi(argv[2]));
    int status;
    struct rusage ru;
    while (wait4(child, &status, 0, &ru) < 0) {}
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *out = fopen(argv[1], "w");
    if (!out) { perror(argv[1]); return 2; }
    fprintf(out, "%lld %ld %ld %ld %d\n", ns,
            ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
            ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, ru.ru_maxrss, code);
    return fclose(out) != 0;
}
"""


def runner_path(cache: Path) -> Path:
    """The compiled runner under `cache`, built on first use (keyed by its source)."""
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()[:12]
    binary = cache / f"runner-{digest}"
    if not binary.exists():
        cache.mkdir(parents=True, exist_ok=True)
        source = cache / f"runner-{digest}.c"
        source.write_text(SOURCE)
        building = binary.with_suffix(".tmp")
        subprocess.run(["gcc", "-O2", "-o", str(building), str(source)], check=True,
                       capture_output=True)
        building.rename(binary)
    return binary
