/* What a GNU program asks of the system: printed so that the emulator's answers can be
   checked (natively they depend on the host, so only that the run succeeds is compared). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    cpu_set_t set;
    int got = sched_getaffinity(0, sizeof set, &set);
    printf("affinity %d cpus=%d cpu0=%d\n", got, CPU_COUNT(&set), CPU_ISSET(0, &set) != 0);
    struct rlimit limit;
    got = getrlimit(RLIMIT_AS, &limit);
    printf("rlimit as %d finite=%d\n", got, limit.rlim_cur != RLIM_INFINITY);
    got = getrlimit(RLIMIT_CPU, &limit);
    printf("rlimit cpu %d infinite=%d\n", got, limit.rlim_cur == RLIM_INFINITY);
    errno = 0;
    got = getrlimit(99, &limit);
    printf("rlimit bad %d errno=%d\n", got, errno);
    struct sysinfo info;
    got = sysinfo(&info);
    printf("sysinfo %d ram=%d unit=%u procs=%u\n", got, info.totalram > 0, info.mem_unit,
           info.procs);
    struct utsname name;
    got = uname(&name);
    printf("uname %d %s %s %s\n", got, name.sysname, name.nodename, name.machine);
    char host[64];
    printf("gethostname %d %s\n", gethostname(host, sizeof host), host);
    errno = 0;
    got = gethostname(host, 3);
    printf("gethostname short %d errno=%d\n", got, errno);
    int pending = -1;
    got = ioctl(0, FIONREAD, &pending);
    printf("FIONREAD %d %d\n", got, pending);
    errno = 0;
    got = ioctl(1, TIOCGWINSZ, &pending);
    printf("TIOCGWINSZ %d errno=%d\n", got, errno);
    errno = 0;
    char *tty = ttyname(0);
    printf("ttyname %s errno=%d\n", tty ? tty : "(null)", errno);
    struct statfs fs;
    errno = 0;
    got = statfs("/", &fs);
    printf("statfs %d errno=%d\n", got, errno);
    long page = sysconf(_SC_PAGESIZE);
    char *block = aligned_alloc(page, page);
    unsigned char vec[1] = {0};
    got = mincore(block, page, vec);
    printf("aligned %d mincore %d vec=%d\n", (long)block % page == 0, got, vec[0] & 1);
    free(block);
    struct timespec nap = {0, 1000};
    printf("nanosleep %d\n", nanosleep(&nap, NULL));
    return 0;
}
