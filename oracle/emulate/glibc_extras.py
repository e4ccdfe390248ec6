"""GNU extensions and fortified variants that GNU programs (Debian's coreutils) import:
the *_unlocked stdio functions (the locked ones: a run's threads take turns at library
calls), __freading and __fpending (gnulib's close_stdout asks them), mempcpy,
rawmemchr, strchrnul, reallocarray, aligned_alloc, the __*_chk checks that remain calls
under _FORTIFY_SOURCE, strtoimax/strtoumax, strtold (its result in x87 st(0) on both
ABIs) and posix_fadvise.  What a program asks of the system is in system_queries.py.
"""

from __future__ import annotations

from collections.abc import Callable

from oracle.emulate.abi import push_x87
from oracle.emulate.calls import CallContext, Export, LibResult, ProgramExit
from oracle.emulate.filestdio import set_errno
from oracle.emulate.libc import stdio
from oracle.emulate.libc.ldparse import to_long_double
from oracle.emulate.libc.reading import bulk_length
from oracle.emulate.libc.valist import va_list_args
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
    "index": "strchr", "rindex": "strrchr",  # the old BSD names glibc keeps
    "random": "rand", "srandom": "srand",  # glibc's rand is random (one TYPE_3 generator)
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


def strchrnul(ctx: CallContext) -> int:
    """strchr that returns the terminator's address when c is not found."""
    s, c = ctx.arg(0), ctx.arg(1) & 0xFF
    text = ctx.mem.read_cstr(s)
    at = text.find(bytes([c])) if c else -1
    return s + (at if at >= 0 else len(text))


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


def _vformat(ctx: CallContext, buf: int, size: int | None, fmt: int, ap: int) -> int:
    if size is None:
        return stdio.vsprintf(ctx.mem, buf, fmt, ap, word=ctx.word)
    return stdio.vsnprintf(ctx.mem, buf, size, fmt, ap, word=ctx.word)


def vsnprintf_chk(ctx: CallContext) -> LibResult:
    """__vsnprintf_chk(s, maxlen, flag, slen, fmt, ap): maxlen past the object is fatal."""
    buf, maxlen, _, slen, fmt, ap = ctx.args(6)
    if maxlen > slen:
        return chk_fail(ctx)
    return _vformat(ctx, buf, maxlen, fmt, ap)


def vsprintf_chk(ctx: CallContext) -> LibResult:
    """__vsprintf_chk(s, flag, slen, fmt, ap): the output may not pass slen bytes."""
    buf, _, slen, fmt, ap = ctx.args(5)
    text = stdio.render_printf(ctx.mem, fmt, va_list_args(ctx.mem, ap, ctx.word), ctx.word)
    if len(text) >= slen:
        return chk_fail(ctx)
    ctx.mem.write(buf, text + b"\0")
    return len(text)


def vfprintf_chk(ctx: CallContext) -> int:
    stream, _, fmt, ap = ctx.args(4)
    return stdio.vfprintf(ctx.mem, ProcessStreams(ctx.process), stream, fmt, ap, word=ctx.word)


def vprintf_chk(ctx: CallContext) -> int:
    _, fmt, ap = ctx.args(3)
    streams = ProcessStreams(ctx.process)
    return stdio.vfprintf(ctx.mem, streams, streams.stdout, fmt, ap, word=ctx.word)


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


EXPORTS = (
    Export("__freading", 1, freading),
    Export("__fpending", 1, fpending),
    Export("mempcpy", 3, mempcpy),
    Export("rawmemchr", 2, rawmemchr),
    Export("strchrnul", 2, strchrnul),
    Export("reallocarray", 3, reallocarray),
    Export("aligned_alloc", 2, aligned_alloc),
    Export("memalign", 2, aligned_alloc),
    Export("posix_memalign", 3, posix_memalign),
    Export("__vsnprintf_chk", 6, vsnprintf_chk),
    Export("__vsprintf_chk", 5, vsprintf_chk),
    Export("__vfprintf_chk", 4, vfprintf_chk),
    Export("__vprintf_chk", 3, vprintf_chk),
    Export("__chk_fail", 0, chk_fail),
    Export("explicit_bzero", 2, explicit_bzero),
    Export("__explicit_bzero_chk", 3, explicit_bzero_chk),
    Export("strtold", 2, strtold),
    Export("posix_fadvise", 4, lambda ctx: 0),
)


def derived(exports: dict[str, Export]) -> list[Export]:
    """The exports made from others: aliases and fortified variants."""
    return [*aliases(exports), *_fortified(exports)]
