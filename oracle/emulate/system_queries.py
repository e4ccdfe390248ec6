"""What GNU programs ask of the system they run on, answered for the emulator's one:
one CPU (sched_getaffinity; sort then sorts without threads), the run's memory cap as
its RAM and address-space limit (sysinfo, getrlimit: sort sizes its buffer from them),
"localhost" (gethostname, as uname's nodename), ioctl on the run's pipes (FIONREAD of
stdin; cat asks), no terminal (ttyname), no file-system statistics (statfs), mincore,
and the pthread mutex and condition calls of a single thread.
"""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.filestdio import set_errno
from oracle.emulate.guest import GuestFault
from oracle.emulate.libc.reading import bulk_length
from oracle.emulate.procinfo import HOSTNAME

EINVAL, ENAMETOOLONG = 22, 36


def sched_getaffinity(ctx: CallContext) -> int:
    """One CPU (the guest runs on one): CPU 0's bit in the mask, the rest of it cleared."""
    size, mask = ctx.arg(1), ctx.arg(2)
    if size < ctx.word:
        set_errno(ctx, EINVAL)
        return -1
    ctx.mem.write(mask, b"\x01" + bytes(bulk_length(mask, size, "sched_getaffinity") - 1))
    return 0


def sched_cpucount(ctx: CallContext) -> int:
    """CPU_COUNT_S(setsize, set): the bits set in the mask."""
    size, mask = ctx.arg(0), ctx.arg(1)
    if size == 0:
        return 0
    return int.from_bytes(ctx.mem.read(mask, bulk_length(mask, size, "CPU_COUNT")),
                          "little").bit_count()


RLIMIT_STACK, RLIMIT_RSS, RLIMIT_NOFILE = 3, 5, 7
RLIMIT_DATA, RLIMIT_AS, RLIMIT_LAST = 2, 9, 15


def _limit(ctx: CallContext, resource: int) -> int | None:
    """The run's limit on `resource` (None for a number Linux does not have): its memory
    cap for the address space, data and resident set (sort sizes its buffer from them),
    8 MiB of stack, 1024 descriptors, else none (RLIM_INFINITY, all ones)."""
    if resource > RLIMIT_LAST:
        return None
    cap = ctx.process.memory_cap
    return {RLIMIT_DATA: cap, RLIMIT_AS: cap, RLIMIT_RSS: cap, RLIMIT_STACK: 8 << 20,
            RLIMIT_NOFILE: 1024}.get(resource, -1)


def _rlimit(fixed_size: int | None) -> Callable[[CallContext], int]:
    """getrlimit (None: rlim_t is the word) or getrlimit64 (8: always 64-bit)."""
    def impl(ctx: CallContext) -> int:
        size = ctx.word if fixed_size is None else fixed_size
        limit = _limit(ctx, ctx.arg(0) & 0xFFFFFFFF)
        if limit is None:
            set_errno(ctx, EINVAL)
            return -1
        infinity = (1 << (8 * size)) - 1
        value = infinity if limit < 0 else min(limit, infinity)
        ctx.mem.write(ctx.arg(1), value.to_bytes(size, "little") * 2)  # rlim_cur, rlim_max
        return 0

    return impl


FIONREAD, ENOTTY, EBADF = 0x541B, 25, 9


def ioctl(ctx: CallContext) -> int:
    """ioctl(fd, request, ...) on the run's pipes: FIONREAD of stdin says how many bytes
    are left to read (cat asks); any other request is ENOTTY, as on a pipe."""
    fd, request, argp = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1) & 0xFFFFFFFF, ctx.arg(2)
    process = ctx.process
    if fd not in (0, 1, 2) and fd not in process.open_files:
        set_errno(ctx, EBADF)
        return -1
    if request == FIONREAD and fd == 0:
        left = len(process.stdin) - process.stdin_pos
        ctx.mem.write(argp, min(left, 0x7FFFFFFF).to_bytes(4, "little"))
        return 0
    set_errno(ctx, ENOTTY)
    return -1


ENOENT, ENOMEM, ENOTTY_, ENOSYS = 2, 12, 25, 38
PAGE = 4096


def statfs(ctx: CallContext) -> int:
    """statfs/fstatfs: ENOSYS, the run's file system has no statistics to give (libselinux
    asks whether /sys/fs/selinux is mounted, and takes the failure for "no SELinux")."""
    set_errno(ctx, ENOSYS)
    return -1


def ttyname(ctx: CallContext) -> int:
    """No descriptor is a terminal here (isatty says 0): NULL and ENOTTY."""
    set_errno(ctx, ENOTTY_)
    return 0


def mincore(ctx: CallContext) -> int:
    """mincore(addr, length, vec): every mapped page is resident (1 in vec); ENOMEM when
    a page of the range is not mapped."""
    addr, length, vec = ctx.args(3)
    if addr % PAGE:
        set_errno(ctx, 22)
        return -1
    pages = bulk_length(addr, (length + PAGE - 1) // PAGE, "mincore")
    try:
        for page in range(pages):
            ctx.mem.read(addr + page * PAGE, 1)
    except GuestFault:
        set_errno(ctx, ENOMEM)
        return -1
    if pages:
        ctx.mem.write(vec, b"\x01" * pages)
    return 0


SS_DISABLE = 2


def sigaltstack(ctx: CallContext) -> int:
    """No alternate signal stack is in use (signals run on the thread's stack here):
    *old_ss says SS_DISABLE; a new one is accepted and never used (gnulib's c-stack
    installs one for its stack-overflow message)."""
    old = ctx.arg(1)
    if old:
        word = ctx.word
        ctx.mem.write(old, bytes(word) + SS_DISABLE.to_bytes(4, "little")
                      + bytes(word - 4 + word))  # ss_sp, ss_flags (padded), ss_size
    return 0


def gethostname(ctx: CallContext) -> int:
    """uname's nodename, "localhost"; ENAMETOOLONG when it does not fit with its NUL."""
    name, size = ctx.arg(0), ctx.arg(1)
    if size < len(HOSTNAME) + 1:
        set_errno(ctx, ENAMETOOLONG)
        return -1
    ctx.mem.write(name, HOSTNAME + b"\0")
    return 0


def sysinfo(ctx: CallContext) -> int:
    """struct sysinfo: an hour up, no load, the run's memory cap as free RAM, no swap,
    one process, memory in bytes (mem_unit 1)."""
    word = ctx.word
    process = ctx.process
    ram = min(process.memory_cap, (1 << (8 * word)) - 1)
    longs = [3600, 0, 0, 0, ram, ram, 0, 0, 0, 0]
    body = b"".join(v.to_bytes(word, "little") for v in longs)
    body += (1).to_bytes(2, "little") + bytes(word - 2)  # procs, pad
    body += bytes(2 * word) + (1).to_bytes(4, "little")  # totalhigh, freehigh, mem_unit
    size = 112 if word == 8 else 64  # sizeof(struct sysinfo), the padding at its end
    ctx.mem.write(ctx.arg(0), body.ljust(size, b"\0"))
    return 0


# One thread runs (pthread_create is not emulated for ELF programs): a mutex is always
# free and a condition never has a waiter, so these succeed without doing anything.
# sort initialises its merge tree's locks even when it sorts on one CPU.
SINGLE_THREAD_NO_OPS = (
    ("pthread_mutex_init", 2), ("pthread_mutex_destroy", 1), ("pthread_mutex_lock", 1),
    ("pthread_mutex_unlock", 1), ("pthread_mutex_trylock", 1), ("pthread_cond_init", 2),
    ("pthread_cond_destroy", 1), ("pthread_cond_signal", 1), ("pthread_cond_broadcast", 1),
)


EXPORTS = (
    Export("sched_getaffinity", 3, sched_getaffinity),
    Export("__sched_cpucount", 2, sched_cpucount),
    Export("getrlimit", 2, _rlimit(None)),
    Export("getrlimit64", 2, _rlimit(8)),
    Export("ioctl", 3, ioctl),
    Export("gethostname", 2, gethostname),
    Export("sysinfo", 1, sysinfo),
    Export("statfs", 2, statfs),
    Export("fstatfs", 2, statfs),
    Export("statfs64", 2, statfs),
    Export("fstatfs64", 2, statfs),
    Export("ttyname", 1, ttyname),
    Export("ttyname_r", 3, lambda ctx: ENOTTY_),
    Export("mincore", 3, mincore),
    Export("sigaltstack", 2, sigaltstack),
    *(Export(name, arity, lambda ctx: 0) for name, arity in SINGLE_THREAD_NO_OPS),
)
