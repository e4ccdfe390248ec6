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
from oracle.emulate.libc import longdouble
from oracle.emulate.process import Process
from oracle.emulate.result import Fault
from oracle.emulate.streams import ProcessStreams

ENOMEM, ERANGE = 12, 34

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
        ctx.mem.write(dst, ctx.mem.read(src, n))
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

    rows: list[Export] = []
    for name, length, dest_len in (
        ("memcpy", count_arg, 3), ("memmove", count_arg, 3), ("memset", count_arg, 3),
        ("mempcpy", count_arg, 3), ("strcpy", string_size, 2), ("stpcpy", string_size, 2),
        ("strncpy", count_arg, 3), ("stpncpy", count_arg, 3),
    ):
        plain = exports.get(name)
        if plain is not None:
            rows.append(Export(f"__{name}_chk", dest_len + 1,
                               _checked(plain.impl, length, dest_len)))
    return rows


def explicit_bzero(ctx: CallContext) -> int:
    s, n = ctx.arg(0), ctx.arg(1)
    if n:
        ctx.mem.write(s, bytes(n))
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
    raw = longdouble.parse(literal) if literal else bytes(10)
    if literal and any(ch in b"0123456789" for ch in literal) and raw[8:10] in (
            b"\xff\x7f", b"\xff\xff"):
        set_errno(ctx, ERANGE)  # a finite literal past the largest long double
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


EXPORTS = (
    Export("__freading", 1, freading),
    Export("__fpending", 1, fpending),
    Export("mempcpy", 3, mempcpy),
    Export("rawmemchr", 2, rawmemchr),
    Export("reallocarray", 3, reallocarray),
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
