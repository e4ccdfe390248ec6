"""str* and mem* functions on flat memory: results, written bytes, and bounded reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle.emulate.guest import GuestFault
from oracle.emulate.libc import memory, strings
from oracle.emulate.libc.flatmem import FlatMemory
from oracle.emulate.libc.heap import Heap

BASE = 0x10000
A, B, C = BASE, BASE + 0x100, BASE + 0x200


@pytest.fixture
def mem() -> FlatMemory:
    return FlatMemory(BASE, 0x1000)


def put(mem: FlatMemory, addr: int, text: bytes) -> int:
    mem.write(addr, text + b"\0")
    return addr


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def test_lengths(mem: FlatMemory) -> None:
    put(mem, A, b"hello")
    assert strings.strlen(mem, A) == 5
    assert strings.strnlen(mem, A, 3) == 3
    assert strings.strnlen(mem, A, 99) == 5


def test_strnlen_stops_at_the_bound_even_at_the_end_of_memory(mem: FlatMemory) -> None:
    mem.write(mem.end - 4, b"abcd")
    assert strings.strnlen(mem, mem.end - 4, 4) == 4
    with pytest.raises(GuestFault):
        strings.strlen(mem, mem.end - 4)


@given(st.binary(max_size=12).map(lambda b: b.replace(b"\0", b"")),
       st.binary(max_size=12).map(lambda b: b.replace(b"\0", b"")), st.integers(0, 14))
def test_comparisons_order_like_c(left: bytes, right: bytes, n: int) -> None:
    mem = FlatMemory(BASE, 0x1000)
    put(mem, A, left)
    put(mem, B, right)
    want = sign((left > right) - (left < right))
    assert sign(strings.strcmp(mem, A, B)) == want
    cut_l, cut_r = left[:n], right[:n]
    assert sign(strings.strncmp(mem, A, B, n)) == sign((cut_l > cut_r) - (cut_l < cut_r))
    if len(left) == len(right):
        assert sign(memory.memcmp(mem, A, B, len(left))) == want


def test_comparison_returns_the_byte_difference(mem: FlatMemory) -> None:
    put(mem, A, b"abc")
    put(mem, B, b"abe")
    assert strings.strcmp(mem, A, B) == ord("c") - ord("e")
    assert strings.strcmp(mem, B, A) == 2
    put(mem, C, b"ab")
    assert strings.strcmp(mem, A, C) == ord("c")
    assert strings.strncmp(mem, A, B, 2) == 0
    mem.write(A, b"\xff")
    assert memory.memcmp(mem, A, B, 1) == 0xFF - ord("a")  # compared as unsigned char


def test_copies_and_concatenation(mem: FlatMemory) -> None:
    put(mem, A, b"abc")
    assert strings.strcpy(mem, B, A) == B
    assert mem.read(B, 4) == b"abc\0"
    assert strings.strcat(mem, B, A) == B
    assert mem.read_cstr(B) == b"abcabc"
    mem.write(C, b"\xee" * 8)
    strings.strncpy(mem, C, A, 6)
    assert mem.read(C, 8) == b"abc\0\0\0\xee\xee"  # padded with NULs up to n
    mem.write(C, b"\xee" * 4)
    strings.strncpy(mem, C, A, 2)
    assert mem.read(C, 3) == b"ab\xee"  # not terminated when the source is longer
    put(mem, C, b"xy")
    strings.strncat(mem, C, A, 2)
    assert mem.read(C, 5) == b"xyab\0"


def test_searches(mem: FlatMemory) -> None:
    put(mem, A, b"hello world")
    put(mem, B, b"o w")
    put(mem, C, b"")
    assert strings.strchr(mem, A, ord("o")) == A + 4
    assert strings.strrchr(mem, A, ord("o")) == A + 7
    assert strings.strchr(mem, A, ord("z")) == 0
    assert strings.strchr(mem, A, 0) == A + 11
    assert strings.strchr(mem, A, 0x100 + ord("h")) == A  # converted to char
    assert strings.strstr(mem, A, B) == A + 4
    assert strings.strstr(mem, A, C) == A
    assert strings.strstr(mem, B, A) == 0
    assert memory.memchr(mem, A, ord("w"), 11) == A + 6
    assert memory.memchr(mem, A, ord("w"), 6) == 0


def test_memchr_finds_a_byte_in_a_buffer_shorter_than_n(mem: FlatMemory) -> None:
    mem.write(mem.end - 3, b"xyz")
    assert memory.memchr(mem, mem.end - 3, ord("z"), 1000) == mem.end - 1


def test_memory_moves(mem: FlatMemory) -> None:
    mem.write(A, bytes(range(16)))
    assert memory.memmove(mem, A + 4, A, 8) == A + 4
    assert mem.read(A, 16) == bytes([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15])
    assert memory.memset(mem, A, 0x1AB, 3) == A
    assert mem.read(A, 4) == b"\xab\xab\xab\x03"
    assert memory.memcpy(mem, 0, 0, 0) == 0  # a zero length touches nothing


def test_strdup_copies_into_the_heap(mem: FlatMemory) -> None:
    heap = Heap(mem, BASE + 0x800, 0x800)
    put(mem, A, b"dup me")
    copy = strings.strdup(mem, heap, A)
    assert heap.base <= copy < heap.end
    assert mem.read(copy, 7) == b"dup me\0"
    assert heap.live[copy] == 7


@pytest.mark.parametrize("call", [
    lambda m: memory.memcpy(m, A, B, -1 % (1 << 64)),
    lambda m: memory.memset(m, A, 0, 1 << 40),
    lambda m: memory.memcmp(m, A, B, 1 << 40),
    lambda m: strings.strncpy(m, A, B, 1 << 63),
])
def test_absurd_lengths_fault_instead_of_exhausting_the_host(mem: FlatMemory, call) -> None:
    put(mem, B, b"x")
    with pytest.raises(GuestFault, match="allowed"):
        call(mem)


def test_case_insensitive_comparison_and_stpcpy(mem: FlatMemory) -> None:
    put(mem, A, b"Hello")
    put(mem, B, b"hELLO!")
    assert strings.strcasecmp(mem, A, B) == -ord("!")
    assert strings.strncasecmp(mem, A, B, 5) == 0
    assert strings.strncasecmp(mem, A, B, 6) < 0
    assert strings.stpcpy(mem, C, A) == C + 5
    assert mem.read(C, 6) == b"Hello\0"


def test_strndup_and_memrchr(mem: FlatMemory) -> None:
    heap = Heap(mem, BASE + 0x800, 0x800)
    put(mem, A, b"abcabc")
    copy = strings.strndup(mem, heap, A, 4)
    assert mem.read(copy, 5) == b"abca\0"
    assert memory.memrchr(mem, A, ord("b"), 6) == A + 4
    assert memory.memrchr(mem, A, ord("b"), 1) == 0
    assert memory.memrchr(mem, 0, ord("b"), 0) == 0
