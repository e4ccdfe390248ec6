"""The str* functions of <string.h>, reading and writing whole strings at a time.

Each takes the guest memory and the raw integer arguments, and returns a Python int: a guest
address for the functions returning `char *`, a possibly negative number for the comparisons
(the table masks results to the ABI word).  Comparisons return the difference of the first
differing bytes as unsigned chars, which is what glibc's x86 implementations return too.
`strdup` and `strndup` take the heap they allocate from.
"""

from __future__ import annotations

from typing import Protocol

from oracle.emulate.guest import GuestMemory
from oracle.emulate.libc.abi import c_int
from oracle.emulate.libc.reading import bulk_length, read_bounded


class Allocator(Protocol):
    def malloc(self, size: int) -> int: ...


def first_difference(left: bytes, right: bytes) -> int:
    """Difference of the first differing bytes of `left` and `right` over their common
    length (0 if none): the xor of the two as big numbers locates it without a loop."""
    common = min(len(left), len(right))
    diff = int.from_bytes(left[:common], "big") ^ int.from_bytes(right[:common], "big")
    if diff == 0:
        return 0
    index = common - 1 - (diff.bit_length() - 1) // 8
    return left[index] - right[index]


def strlen(mem: GuestMemory, s: int) -> int:
    return len(mem.read_cstr(s))


def strnlen(mem: GuestMemory, s: int, n: int) -> int:
    return len(read_bounded(mem, s, n))


def strcmp(mem: GuestMemory, a: int, b: int) -> int:
    return first_difference(mem.read_cstr(a) + b"\0", mem.read_cstr(b) + b"\0")


def strncmp(mem: GuestMemory, a: int, b: int, n: int) -> int:
    left, right = read_bounded(mem, a, n), read_bounded(mem, b, n)
    return first_difference((left + b"\0")[:n], (right + b"\0")[:n])


def strcpy(mem: GuestMemory, dst: int, src: int) -> int:
    mem.write(dst, mem.read_cstr(src) + b"\0")
    return dst


def strncpy(mem: GuestMemory, dst: int, src: int, n: int) -> int:
    text = read_bounded(mem, src, n)
    mem.write(dst, text + bytes(bulk_length(dst, n, "strncpy") - len(text)))  # pads with NULs, terminates only if room
    return dst


def strcat(mem: GuestMemory, dst: int, src: int) -> int:
    end = dst + strlen(mem, dst)
    mem.write(end, mem.read_cstr(src) + b"\0")
    return dst


def strncat(mem: GuestMemory, dst: int, src: int, n: int) -> int:
    end = dst + strlen(mem, dst)
    mem.write(end, read_bounded(mem, src, n) + b"\0")
    return dst


def strchr(mem: GuestMemory, s: int, c: int) -> int:
    text = mem.read_cstr(s) + b"\0"  # the terminator itself can be searched for
    at = text.find(c_int(c) & 0xFF)
    return 0 if at < 0 else s + at


def strrchr(mem: GuestMemory, s: int, c: int) -> int:
    text = mem.read_cstr(s) + b"\0"
    at = text.rfind(c_int(c) & 0xFF)
    return 0 if at < 0 else s + at


def strstr(mem: GuestMemory, haystack: int, needle: int) -> int:
    at = mem.read_cstr(haystack).find(mem.read_cstr(needle))
    return 0 if at < 0 else haystack + at


def stpcpy(mem: GuestMemory, dst: int, src: int) -> int:
    """strcpy that returns the address of the terminator it wrote."""
    text = mem.read_cstr(src)
    mem.write(dst, text + b"\0")
    return dst + len(text)


def _fold(text: bytes) -> bytes:
    return text.lower()  # bytes.lower changes only A-Z: the C locale's tolower


def strcasecmp(mem: GuestMemory, a: int, b: int) -> int:
    return first_difference(_fold(mem.read_cstr(a)) + b"\0", _fold(mem.read_cstr(b)) + b"\0")


def strncasecmp(mem: GuestMemory, a: int, b: int, n: int) -> int:
    left, right = _fold(read_bounded(mem, a, n)), _fold(read_bounded(mem, b, n))
    return first_difference((left + b"\0")[:n], (right + b"\0")[:n])


def _duplicate(mem: GuestMemory, heap: Allocator, text: bytes) -> int:
    copy = heap.malloc(len(text) + 1)
    if copy:
        mem.write(copy, text + b"\0")
    return copy


def strdup(mem: GuestMemory, heap: Allocator, s: int) -> int:
    return _duplicate(mem, heap, mem.read_cstr(s))


def strndup(mem: GuestMemory, heap: Allocator, s: int, n: int) -> int:
    return _duplicate(mem, heap, read_bounded(mem, s, n))
