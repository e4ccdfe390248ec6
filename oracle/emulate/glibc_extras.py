"""GNU extensions and fortified variants that GNU programs (Debian's coreutils) import:
the *_unlocked stdio functions (the locked ones: a run's threads take turns at library
calls), __freading and __fpending (gnulib's close_stdout asks them), mempcpy,
rawmemchr, reallocarray, the __*_chk checks that remain calls under
_FORTIFY_SOURCE, strtoimax/strtoumax, strtold (its result in x87 st(0) on both ABIs),
posix_fadvise and sysinfo.
"""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate.abi import push_x87
from oracle.emulate.calls import CallContext, Export, LibResult, ProgramExit
from oracle.emulate.filestdio import set_errno
from oracle.emulate.libc.ldparse import to_long_double
from oracle.emulate.libc.reading import bulk_length
from oracle.emulate.process import Process
from oracle.emulate.result import Fault
from oracle.emulate.streams import ProcessStreams

ENOMEM, EINVAL, ERANGE = 12, 22, 34

# GNU names served by an existing libc.so.6 function of the same contract
ALIASES = {
    "fputs_unlocked": "fputs", "fputc_unlocked": "fputc", "putc_unlocked": "fputc",
    "putchar_unlocked": "putchar", "fwrite_unlocked": "fwrite",
    "fflush_unlocked": "fflush", "fread_unlocked": "fread", "fgets_unlocked": "fgets",
    "clearerr_unlocked": "clearerr", "feof_unlocked": "feof", "ferror_unlocked": "ferror",
    "strtoimax": "strtoll", "strtoumax": "strtoull",  # intmax_t is 64-bit on both ABIs
    "__strtol_internal": "strtol", "__strtoul_internal": "strtoul",
    "__mempcpy": "mempcpy", "__rawmemchr": "rawmemchr", "__stpcpy": "stpcpy",
    "posix_fadvise64": "posix_fadvise",
}


def aliases(exports: dict[str, Export]) -> list[Export]:
    """An Export for each alias whose target exists."""
    return [Export(alias, exports[target].arity, exports[target].impl)
            for alias, target in ALIASES.items() if target in exports]


def _stream_fd(ctx: CallContext) -> tuple[Process, int]:
    return ctx.process, ProcessStreams(ctx.process).fd_of(ctx.arg(0))


def freading(ctx: CallContext) -> int:
    """Nonzero for a stream open for reading only (stdin, a file opened "r")."""
    process, fd = _stream_fd(ctx)
    if fd == 0:
        return 1
    opened = process.open_files.get(fd)
    return int(opened is not None and opened.readable and not opened.writable)


def fpending(ctx: CallContext) -> int:
    """The bytes waiting in the stream's output buffer."""
    process, fd = _stream_fd(ctx)
    return len(process.pending.get(fd, b""))


def mempcpy(ctx: CallContext) -> int:
    dst, src, n = ctx.args(3)
    if n:
        ctx.mem.write(dst, ctx.mem.read(src, bulk_length(src, n, "mempcpy")))
    return dst + n


def rawmemchr(ctx: CallContext) -> int:
    """The first byte c from s on, with no bound: read a page's rest at a time."""
    s, c = ctx.arg(0), ctx.arg(1) & 0xFF
    at = s
    while True:
        chunk = ctx.mem.read(at, 0x1000 - (at & 0xFFF))
        found = chunk.find(bytes([c]))
        if found >= 0:
            return at + found
        at += len(chunk)


def reallocarray(ctx: CallContext) -> int:
    addr, count, size = ctx.args(3)
    total = count * size
    heap = ctx.process.ensure_heap()
    if total >> (8 * ctx.word):
        set_errno(ctx, ENOMEM)
        return 0
    result = heap.realloc(addr, total)
    if result == 0 and total:
        set_errno(ctx, ENOMEM)
    return result


def aligned_alloc(ctx: CallContext) -> int:
    """aligned_alloc/memalign(alignment, size): glibc 2.36 rounds an alignment that is not
    a power of two up to one."""
    alignment, size = ctx.arg(0), ctx.arg(1)
    alignment = 1 << max(alignment - 1, 0).bit_length()
    block = ctx.process.ensure_heap().memalign(alignment, size)
    if block == 0:
        set_errno(ctx, ENOMEM)
    return block


def posix_memalign(ctx: CallContext) -> int:
    """0 and the block in *memptr; EINVAL (returned) for an alignment that is not a power
    of two times sizeof(void *)."""
    memptr, alignment, size = ctx.args(3)
    if alignment % ctx.word or alignment & (alignment - 1) or alignment == 0:
        return EINVAL
    block = ctx.process.ensure_heap().memalign(alignment, size)
    if block == 0:
        return ENOMEM
    ctx.mem.write(memptr, block.to_bytes(ctx.word, "little"))
    return 0


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
RLIMIT_DATA, RLIMIT_AS = 2, 9


def getrlimit(ctx: CallContext) -> int:
    """The run's limits: its memory cap for the address space, data and resident set
    (sort sizes its buffer from them), 8 MiB of stack, 1024 descriptors, else none."""
    resource, rlim = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1)
    infinity = (1 << (8 * ctx.word)) - 1
    if resource > 15:
        set_errno(ctx, EINVAL)
        return -1
    limit = {RLIMIT_DATA: ctx.process.memory_cap, RLIMIT_AS: ctx.process.memory_cap,
             RLIMIT_RSS: ctx.process.memory_cap, RLIMIT_STACK: 8 << 20,
             RLIMIT_NOFILE: 1024}.get(resource, infinity)
    limit = min(limit, infinity)
    ctx.mem.write(rlim, limit.to_bytes(ctx.word, "little") * 2)
    return 0


def getrlimit64(ctx: CallContext) -> int:
    """getrlimit with 64-bit fields (i386's *64 variant; x86-64's alias)."""
    resource, rlim = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1)
    if ctx.word == 8:
        return getrlimit(ctx)
    scratch = ctx.process.object(("getrlimit64 scratch",), bytes(8)).address
    from oracle.emulate.macho.libsystem_extra import FixedArgs

    result = getrlimit(FixedArgs(ctx, (resource, scratch)))
    if result == 0:
        parts = [int.from_bytes(ctx.mem.read(scratch + 4 * i, 4), "little") for i in (0, 1)]
        wide = [(1 << 64) - 1 if v == 0xFFFFFFFF else v for v in parts]
        ctx.mem.write(rlim, b"".join(v.to_bytes(8, "little") for v in wide))
    return result


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


def chk_fail(ctx: CallContext) -> LibResult:
    """__chk_fail: glibc's message and SIGABRT."""
    pc = ctx.abi_return_address()
    ctx.process.write_fd(2, b"*** buffer overflow detected ***: terminated\n")
    raise ProgramExit(134, Fault("abort", pc, ctx.machine.symbol_at(pc),
                                 "__chk_fail: buffer overflow detected"))


def _checked(plain: Callable[[CallContext], LibResult], length: Callable[[CallContext], int],
             dest_len_arg: int) -> Callable[[CallContext], LibResult]:
    """A __*_chk: the plain function once the destination is known to be large enough."""
    def impl(ctx: CallContext) -> LibResult:
        if length(ctx) > ctx.arg(dest_len_arg):
            return chk_fail(ctx)
        return plain(ctx)

    return impl


def _fortified(exports: dict[str, Export]) -> list[Export]:
    """__memcpy_chk & co over the plain functions (which read their leading arguments
    only: the extra destination length after them does not disturb them)."""
    def count_arg(ctx: CallContext) -> int:
        return ctx.arg(2)

    def string_size(ctx: CallContext) -> int:
        return len(ctx.mem.read_cstr(ctx.arg(1))) + 1

    def one_char(ctx: CallContext) -> int:
        return 1  # MB_CUR_MAX: the most wcrtomb writes in the C locale

    rows: list[Export] = []
    for name, length, dest_len in (
        ("memcpy", count_arg, 3), ("memmove", count_arg, 3), ("memset", count_arg, 3),
        ("mempcpy", count_arg, 3), ("strcpy", string_size, 2), ("stpcpy", string_size, 2),
        ("strncpy", count_arg, 3), ("stpncpy", count_arg, 3), ("wcrtomb", one_char, 3),
    ):
        plain = exports.get(name)
        if plain is not None:
            rows.append(Export(f"__{name}_chk", dest_len + 1,
                               _checked(plain.impl, length, dest_len)))
    return rows


def explicit_bzero(ctx: CallContext) -> int:
    s, n = ctx.arg(0), ctx.arg(1)
    if n:
        ctx.mem.write(s, bytes(bulk_length(s, n, "explicit_bzero")))
    return 0


def explicit_bzero_chk(ctx: CallContext) -> LibResult:
    if ctx.arg(1) > ctx.arg(2):
        return chk_fail(ctx)
    return explicit_bzero(ctx)


def strtold(ctx: CallContext) -> LibResult:
    """strtold(nptr, endptr): the value pushed on the x87 stack as the ABI returns a long
    double; *endptr after the number (nptr itself when there is none)."""
    from oracle.emulate.macho.libsystem_extra import numeric_prefix

    nptr, endptr = ctx.arg(0), ctx.arg(1)
    literal, end = numeric_prefix(ctx.mem.read_cstr(nptr))
    raw, out_of_range = to_long_double(literal) if literal else (bytes(10), False)
    if out_of_range:
        set_errno(ctx, ERANGE)
    if endptr:
        ctx.mem.write(endptr, (nptr + end).to_bytes(ctx.word, "little"))
    push_x87(ctx.machine.uc, int.from_bytes(raw[:8], "little"),
             int.from_bytes(raw[8:10], "little"))
    return None


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
    Export("__freading", 1, freading),
    Export("__fpending", 1, fpending),
    Export("mempcpy", 3, mempcpy),
    Export("rawmemchr", 2, rawmemchr),
    Export("reallocarray", 3, reallocarray),
    Export("aligned_alloc", 2, aligned_alloc),
    Export("memalign", 2, aligned_alloc),
    Export("posix_memalign", 3, posix_memalign),
    Export("sched_getaffinity", 3, sched_getaffinity),
    Export("__sched_cpucount", 2, sched_cpucount),
    Export("getrlimit", 2, getrlimit),
    Export("getrlimit64", 2, getrlimit64),
    *(Export(name, arity, lambda ctx: 0) for name, arity in SINGLE_THREAD_NO_OPS),
    Export("ioctl", 3, ioctl),
    Export("__chk_fail", 0, chk_fail),
    Export("explicit_bzero", 2, explicit_bzero),
    Export("__explicit_bzero_chk", 3, explicit_bzero_chk),
    Export("strtold", 2, strtold),
    Export("posix_fadvise", 4, lambda ctx: 0),
    Export("sysinfo", 1, sysinfo),
)


def derived(exports: dict[str, Export]) -> list[Export]:
    """The exports made from others: aliases and fortified variants."""
    return [*aliases(exports), *_fortified(exports)]
