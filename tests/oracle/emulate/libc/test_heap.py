"""The guest heap: alignment, no overlap, contents kept across realloc, the memory cap,
coalescing, and the misuse glibc aborts on."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.emulate.guest import GuestFault
from oracle.emulate.libc.flatmem import FlatMemory
from oracle.emulate.libc.heap import Heap

BASE, SIZE = 0x100000, 0x4000


def fresh(align: int = 16) -> Heap:
    return Heap(FlatMemory(BASE, SIZE), BASE, SIZE, align=align)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("malloc"), st.integers(0, 700)),
        st.tuples(st.just("calloc"), st.integers(0, 40), st.integers(0, 40)),
        st.tuples(st.just("realloc"), st.integers(0, 30), st.integers(0, 900)),
        st.tuples(st.just("free"), st.integers(0, 30)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(OPS, st.sampled_from([16, 8]))
def test_heap_invariants_hold_under_any_sequence(ops, align: int) -> None:
    heap = fresh(align)
    mem = heap.mem
    model: dict[int, bytes] = {}  # live pointer -> the bytes the program stored there
    stamp = 0
    for op in ops:
        stamp += 1
        if op[0] in ("malloc", "calloc"):
            size = op[1] if op[0] == "malloc" else op[1] * op[2]
            addr = heap.malloc(size) if op[0] == "malloc" else heap.calloc(op[1], op[2])
            if addr == 0:  # only when no free run is long enough
                assert max(size, 1) > heap.largest_free()
                continue
            if op[0] == "calloc":
                assert mem.read(addr, size) == bytes(size)
        elif op[0] == "realloc" and model:
            old = sorted(model)[op[1] % len(model)]
            size = op[2]
            addr = heap.realloc(old, size)
            if size == 0:
                assert addr == 0
                del model[old]
                continue
            if addr == 0:  # no room: the old block is intact and still live
                assert old in heap.live
                continue
            kept = model.pop(old)[:size]
            assert mem.read(addr, len(kept)) == kept
        elif op[0] == "free" and model:
            old = sorted(model)[op[1] % len(model)]
            heap.free(old)
            del model[old]
            continue
        else:
            continue
        content = bytes([stamp & 0xFF]) * size
        mem.write(addr, content)
        model[addr] = content
    assert set(model) == set(heap.live)
    spans = sorted((addr, addr + max(len(data), 1)) for addr, data in model.items())
    for addr, end in spans:
        assert addr % align == 0
        assert BASE <= addr and end <= BASE + SIZE
        assert mem.read(addr, end - addr) == model[addr] or not model[addr]
    for (_, end), (start, _) in pairwise(spans):
        assert end <= start, "live allocations overlap"
    for addr in list(model):
        heap.free(addr)
    assert heap.malloc(SIZE) == BASE  # everything freed merged back into one range


def test_malloc_returns_zero_when_the_cap_is_reached() -> None:
    heap = fresh()
    first = heap.malloc(SIZE - 32)
    assert first == BASE
    assert heap.malloc(64) == 0
    assert heap.malloc(32) == BASE + SIZE - 32
    assert heap.malloc(1) == 0
    heap.free(first)
    assert heap.malloc(SIZE - 64) == BASE


def test_malloc_zero_gives_distinct_pointers() -> None:
    heap = fresh()
    a, b = heap.malloc(0), heap.malloc(0)
    assert a and b and a != b


def test_calloc_overflow_of_size_t_returns_zero() -> None:
    heap = fresh()
    assert heap.calloc(1 << 33, 1 << 32, word=8) == 0
    assert heap.calloc(1 << 16, 1 << 16, word=4) == 0


def test_calloc_zeroes_a_reused_block() -> None:
    heap = fresh()
    a = heap.malloc(64)
    heap.mem.write(a, b"\xaa" * 64)
    heap.free(a)
    b = heap.calloc(8, 8)
    assert b == a
    assert heap.mem.read(b, 64) == bytes(64)


def test_realloc_null_is_malloc_and_growth_moves_contents() -> None:
    heap = fresh()
    a = heap.realloc(0, 10)
    heap.mem.write(a, b"0123456789")
    heap.malloc(16)  # a neighbour, so growth must move
    b = heap.realloc(a, 100)
    assert b != a
    assert heap.mem.read(b, 10) == b"0123456789"
    assert a not in heap.live


@pytest.mark.parametrize(
    ("misuse", "message"),
    [
        (lambda h, p: (h.free(p), h.free(p)), "double free"),
        (lambda h, p: h.free(p + 16), "did not return"),
        (lambda h, p: h.free(0x1234), "outside the heap"),
        (lambda h, p: (h.free(p), h.realloc(p, 8)), "already freed"),
    ],
)
def test_misuse_raises_a_guest_fault(misuse, message: str) -> None:
    heap = fresh()
    p = heap.malloc(64)
    with pytest.raises(GuestFault, match=message):
        misuse(heap, p)


def test_free_null_is_a_no_op() -> None:
    heap = fresh()
    heap.free(0)
    assert heap.live == {}
