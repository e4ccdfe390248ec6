"""Every library function by its C name, with what the core needs to bind it generically.

`library(word, heap=..., streams=..., errno=...)` builds the table for one ABI (word 8: x86-64, 4:
i386); functions whose needs are not supplied are left out, so `library(8)` alone is the
pure subset.  The core binds each entry as, roughly:

    Export(f.name, f.arity, lambda ctx: f.call(ctx.mem, ctx.args(f.arity),
                                               ctx.varargs(f.arity) if f.variadic else None))

and stores the result in rax (eax on i386, plus edx when `result_size` is 8: strtoll &co).
Rows marked `sets_errno` (strto*, ato*, malloc & co) set errno only in a table built with
an `errno` sink, so a core that models errno builds them per process, like the heap rows.
rand and srand share a generator: the table's own, or the one passed as `rng` (a core that
builds one table for many processes passes a generator that follows the process served).
Mach-O's libSystem names are the same with a leading underscore.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from oracle.emulate.guest import GuestMemory, VarArgs
from oracle.emulate.libc import ctype, memory, numbers, stdio, strings, tokens
from oracle.emulate.libc.abi import mask
from oracle.emulate.libc.heap import Heap
from oracle.emulate.libc.numbers import ErrnoSink
from oracle.emulate.libc.rand import GlibcRand

Impl = Callable[..., int]


@dataclass(frozen=True)
class LibFunction:
    """A C function: `impl(mem, *args)`, or `impl(mem, *args, varargs)` when variadic, where
    args are the `arity` fixed integer arguments as unsigned register values."""

    name: str
    arity: int
    impl: Impl
    result_size: int  # bytes of the return value: the word, or 8 for long long results
    variadic: bool = False
    needs_heap: bool = False
    needs_streams: bool = False
    sets_errno: bool = False  # sets errno when `library` was given an errno sink

    def call(self, mem: GuestMemory, args: Sequence[int], varargs: VarArgs | None = None) -> int:
        """The function's return value as an unsigned number of `result_size` bytes."""
        if len(args) != self.arity:
            raise TypeError(f"{self.name} takes {self.arity} arguments, got {len(args)}")
        if self.variadic:
            if varargs is None:
                raise TypeError(f"{self.name} is variadic and needs its VarArgs")
            return mask(self.impl(mem, *args, varargs), self.result_size)
        return mask(self.impl(mem, *args), self.result_size)


def _pure(word: int, errno: ErrnoSink | None) -> list[LibFunction]:
    def fn(name: str, arity: int, impl: Impl, **extra: bool) -> LibFunction:
        return LibFunction(name, arity, impl, word, **extra)

    def number(name: str, arity: int, size: int) -> LibFunction:
        impl = partial(getattr(numbers, name), word=word, errno=errno)
        return LibFunction(name, arity, impl, size, sets_errno=True)

    by_module = [
        (ctype, 1, ["isdigit", "isalpha", "isspace", "isalnum", "isupper", "islower"]),
        (ctype, 1, ["isxdigit", "isprint", "ispunct", "toupper", "tolower"]),
        (strings, 1, ["strlen"]),
        (strings, 2, ["strnlen", "strcmp", "strcpy", "strcat", "strchr", "strrchr", "strstr"]),
        (strings, 2, ["stpcpy", "strcasecmp"]),
        (strings, 3, ["strncmp", "strncpy", "strncat", "strncasecmp"]),
        (tokens, 2, ["strspn", "strcspn", "strpbrk"]),
        (memory, 3, ["memcpy", "memmove", "memset", "memcmp", "memchr", "memrchr"]),
    ]
    rows = [
        fn(name, arity, getattr(module, name))
        for module, arity, names in by_module
        for name in names
    ]
    rows += [
        fn("strtok_r", 3, partial(tokens.strtok_r, word=word)),
        fn("abs", 1, ctype.abs_),
        fn("labs", 1, partial(ctype.labs, word=word)),
        number("strtol", 3, word),
        number("strtoul", 3, word),
        number("strtoll", 3, 8),
        number("strtoull", 3, 8),
        number("atoi", 1, word),
        number("atol", 1, word),
        number("atoll", 1, 8),
        fn("sprintf", 2, partial(stdio.sprintf, word=word), variadic=True),
        fn("snprintf", 3, partial(stdio.snprintf, word=word), variadic=True),
        fn("vsprintf", 3, partial(stdio.vsprintf, word=word)),
        fn("vsnprintf", 4, partial(stdio.vsnprintf, word=word)),
    ]
    return rows


def _heap(word: int, heap: Heap, errno: ErrnoSink | None) -> list[LibFunction]:
    def free(mem: GuestMemory, addr: int) -> int:
        heap.free(addr)
        return 0

    def failed(result: int, failure: bool) -> int:
        if failure and errno is not None:
            errno(numbers.ENOMEM)
        return result

    def formatted(impl: Impl) -> Impl:
        def run(mem: GuestMemory, *args: object) -> int:
            result = impl(mem, heap, *args, word=word)
            return failed(result, result == -1)

        return run

    def row(name: str, arity: int, impl: Impl, *, variadic: bool = False) -> LibFunction:
        sets_errno = name != "free"
        return LibFunction(name, arity, impl, word, variadic, needs_heap=True,
                           sets_errno=sets_errno)

    return [
        row("malloc", 1, lambda mem, size: (p := heap.malloc(size)) or failed(p, True)),
        row("calloc", 2, lambda mem, count, size: (
            (p := heap.calloc(count, size, word=word)) or failed(p, True))),
        row("realloc", 2, lambda mem, addr, size: (
            (p := heap.realloc(addr, size)) or failed(p, size != 0))),
        row("free", 1, free),
        row("strdup", 1, lambda mem, s: (p := strings.strdup(mem, heap, s)) or failed(p, True)),
        row("strndup", 2, lambda mem, s, n: (
            (p := strings.strndup(mem, heap, s, n)) or failed(p, True))),
        row("asprintf", 2, formatted(stdio.asprintf), variadic=True),
        row("vasprintf", 3, formatted(stdio.vasprintf)),
    ]


def _random(word: int, rng: GlibcRand) -> list[LibFunction]:
    def rand(mem: GuestMemory) -> int:
        return rng.next()

    def srand(mem: GuestMemory, seed: int) -> int:
        rng.seed(seed)
        return 0

    return [LibFunction("rand", 0, rand, word), LibFunction("srand", 1, srand, word)]


def _streams(word: int, out: stdio.Streams) -> list[LibFunction]:
    def row(name: str, arity: int, impl: Impl, *, formats: bool = False) -> LibFunction:
        bound = partial(impl, word=word) if formats else impl
        variadic = name in ("printf", "fprintf")
        return LibFunction(
            name,
            arity,
            lambda mem, *args: bound(mem, out, *args),
            word,
            variadic=variadic,
            needs_streams=True,
        )

    return [
        row("printf", 1, stdio.printf, formats=True),
        row("fprintf", 2, stdio.fprintf, formats=True),
        row("vprintf", 2, stdio.vprintf, formats=True),
        row("vfprintf", 3, stdio.vfprintf, formats=True),
        row("puts", 1, stdio.puts),
        row("putchar", 1, stdio.putchar),
        row("fputs", 2, stdio.fputs),
        row("fputc", 2, stdio.fputc),
        row("putc", 2, stdio.fputc),
        row("fwrite", 4, stdio.fwrite),
        row("fflush", 1, stdio.fflush),
    ]


def library(
    word: int,
    *,
    heap: Heap | None = None,
    streams: stdio.Streams | None = None,
    errno: ErrnoSink | None = None,
    rng: GlibcRand | None = None,
) -> dict[str, LibFunction]:
    """The functions available for this word size and these supplied needs, by C name.
    With `errno`, the rows marked `sets_errno` report ERANGE, EINVAL and ENOMEM through it.
    rand and srand use `rng` (default: a generator of this table's own)."""
    if word not in (4, 8):
        raise ValueError(f"word size must be 4 (i386) or 8 (x86-64), not {word}")
    rows = _pure(word, errno)
    rows += _heap(word, heap, errno) if heap is not None else []
    rows += _streams(word, streams) if streams is not None else []
    rows += _random(word, rng if rng is not None else GlibcRand())
    return {row.name: row for row in rows}
