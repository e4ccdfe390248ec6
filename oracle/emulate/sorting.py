"""qsort and bsearch: library functions that call a guest comparator.

qsort is a stable merge sort, as glibc's (which merge-sorts whenever it can allocate a
buffer): the comparator sees pointers into the untouched original array, and the sorted
elements are written back once at the end.  The comparator's int result is read from the
low 32 bits of the return register.

A small array (as glibc sorts on its stack: here up to GUEST_SORT_BYTES and
GUEST_SORT_COUNT) is sorted by the same merge sort as guest code (guest_code.py), which
the call jumps to once the array has been read here (a bad array faults here, named as
qsort's): each comparator call is then a guest call, not a round trip through Python.
Larger arrays are sorted here, in Python.
"""

from __future__ import annotations

from collections.abc import Generator

from oracle.emulate.calls import JUMPED, CallContext, Export, GuestCall, LibResult
from oracle.emulate.guest import GuestFault

MAX_ARRAY = 1 << 28
# The guest code keeps two words per element and a copy of the array on the guest stack.
GUEST_SORT_BYTES = 4096
GUEST_SORT_COUNT = 512
Steps = Generator[GuestCall, int, int | None]


def _as_int(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value


def _merge_sort(order: list[int], base: int, size: int, cmp: int) -> Generator[
        GuestCall, int, list[int]]:
    if len(order) <= 1:
        return order
    mid = len(order) // 2
    left = yield from _merge_sort(order[:mid], base, size, cmp)
    right = yield from _merge_sort(order[mid:], base, size, cmp)
    merged: list[int] = []
    i = j = 0
    while i < len(left) and j < len(right):
        result = yield GuestCall(cmp, (base + left[i] * size, base + right[j] * size))
        if _as_int(result) <= 0:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


def qsort(ctx: CallContext) -> LibResult:
    base, count, size, cmp = ctx.args(4)
    if count < 2 or size == 0:
        return None
    if count * size > MAX_ARRAY:
        raise GuestFault(base, f"qsort of {count} x {size} bytes: larger than any guest array")
    raw = ctx.mem.read(base, count * size)  # faults now if the array is not all mapped
    if count <= GUEST_SORT_COUNT and count * size <= GUEST_SORT_BYTES:
        # the registers and stack are the call's own: the guest code returns to the caller
        ctx.machine.uc.reg_write(ctx.machine.abi.pc_reg, ctx.machine.guest_qsort)
        return JUMPED
    return _python_qsort(ctx, raw, base, count, size, cmp)


def _python_qsort(ctx: CallContext, raw: bytes, base: int, count: int, size: int, cmp: int
                  ) -> Steps:
    order = yield from _merge_sort(list(range(count)), base, size, cmp)
    ctx.mem.write(base, b"".join(raw[k * size : (k + 1) * size] for k in order))
    return None


def bsearch(ctx: CallContext) -> Steps:
    key, base, count, size, cmp = ctx.args(5)
    low, high = 0, count
    while low < high:
        mid = (low + high) // 2
        elem = base + mid * size
        result = _as_int((yield GuestCall(cmp, (key, elem))))
        if result < 0:
            high = mid
        elif result > 0:
            low = mid + 1
        else:
            return elem
    return 0


EXPORTS = (
    Export("qsort", 4, qsort),
    Export("bsearch", 5, bsearch),
)
