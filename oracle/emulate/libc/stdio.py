"""The formatting half of <stdio.h>: sprintf and friends, and what the stream functions
print, written against a `Streams` sink that the core owns.

The core decides what a FILE* is: it passes a `Streams` whose `stdout` is the guest value
printf and puts write to, and whose `write(stream, data)` appends to that stream's record
(failing with GuestFault for a FILE* it does not know).  The functions here return what
glibc returns: printf the byte count, puts the count including the newline, fputs 1,
putchar/fputc the byte written, fwrite the item count, fflush 0.
"""

from __future__ import annotations

from typing import Protocol

from oracle.emulate.guest import GuestFault, GuestMemory, VarArgs
from oracle.emulate.libc.abi import c_int
from oracle.emulate.libc.fmtspec import FormatError
from oracle.emulate.libc.format import format_printf
from oracle.emulate.libc.reading import bulk_length
from oracle.emulate.libc.strings import Allocator
from oracle.emulate.libc.valist import va_list_args


class Streams(Protocol):
    """Where output goes; streams are identified by their guest FILE* value."""

    @property
    def stdout(self) -> int: ...

    def write(self, stream: int, data: bytes) -> None: ...


def render_printf(mem: GuestMemory, fmt: int, args: VarArgs, word: int) -> bytes:
    """printf's output for the format at guest address `fmt`; a refused conversion becomes
    a GuestFault at the address of its '%'."""
    try:
        return format_printf(mem, mem.read_cstr(fmt), args, word=word)
    except FormatError as error:
        raise GuestFault(fmt + error.address, f"printf: {error.message}") from error


def sprintf(mem: GuestMemory, buf: int, fmt: int, args: VarArgs, *, word: int) -> int:
    text = render_printf(mem, fmt, args, word)
    mem.write(buf, text + b"\0")
    return len(text)


def snprintf(mem: GuestMemory, buf: int, n: int, fmt: int, args: VarArgs, *, word: int) -> int:
    """Writes at most n - 1 bytes and a NUL; returns the length it would have written."""
    text = render_printf(mem, fmt, args, word)
    if n:
        mem.write(buf, text[: n - 1] + b"\0")
    return len(text)


def vsprintf(mem: GuestMemory, buf: int, fmt: int, ap: int, *, word: int) -> int:
    return sprintf(mem, buf, fmt, va_list_args(mem, ap, word), word=word)


def vsnprintf(mem: GuestMemory, buf: int, n: int, fmt: int, ap: int, *, word: int) -> int:
    return snprintf(mem, buf, n, fmt, va_list_args(mem, ap, word), word=word)


def asprintf(
    mem: GuestMemory, heap: Allocator, strp: int, fmt: int, args: VarArgs, *, word: int
) -> int:
    """Formats into a fresh heap block stored at *strp; -1 when the heap is exhausted."""
    text = render_printf(mem, fmt, args, word)
    block = heap.malloc(len(text) + 1)
    if block == 0:
        return -1
    mem.write(block, text + b"\0")
    mem.write(strp, block.to_bytes(word, "little"))
    return len(text)


def vasprintf(mem: GuestMemory, heap: Allocator, strp: int, fmt: int, ap: int, *, word: int
              ) -> int:
    return asprintf(mem, heap, strp, fmt, va_list_args(mem, ap, word), word=word)


def printf(mem: GuestMemory, out: Streams, fmt: int, args: VarArgs, *, word: int) -> int:
    return fprintf(mem, out, out.stdout, fmt, args, word=word)


def fprintf(
    mem: GuestMemory, out: Streams, stream: int, fmt: int, args: VarArgs, *, word: int
) -> int:
    text = render_printf(mem, fmt, args, word)
    out.write(stream, text)
    return len(text)


def vprintf(mem: GuestMemory, out: Streams, fmt: int, ap: int, *, word: int) -> int:
    return printf(mem, out, fmt, va_list_args(mem, ap, word), word=word)


def vfprintf(mem: GuestMemory, out: Streams, stream: int, fmt: int, ap: int, *, word: int) -> int:
    return fprintf(mem, out, stream, fmt, va_list_args(mem, ap, word), word=word)


def puts(mem: GuestMemory, out: Streams, s: int) -> int:
    text = mem.read_cstr(s) + b"\n"
    out.write(out.stdout, text)
    return len(text)


def fputs(mem: GuestMemory, out: Streams, s: int, stream: int) -> int:
    out.write(stream, mem.read_cstr(s))
    return 1


def fputc(mem: GuestMemory, out: Streams, c: int, stream: int) -> int:
    byte = c_int(c) & 0xFF
    out.write(stream, bytes([byte]))
    return byte


def putchar(mem: GuestMemory, out: Streams, c: int) -> int:
    return fputc(mem, out, c, out.stdout)


def fwrite(mem: GuestMemory, out: Streams, ptr: int, size: int, count: int, stream: int) -> int:
    if size == 0 or count == 0:
        return 0
    out.write(stream, mem.read(ptr, bulk_length(ptr, size * count, "fwrite")))
    return count


def fflush(mem: GuestMemory, out: Streams, stream: int) -> int:
    return 0  # output reaches the core's record unbuffered
