"""qsort and bsearch: library functions that call a guest comparator.

qsort is a stable merge sort, as glibc's (which merge-sorts whenever it can allocate a
buffer): the comparator sees pointers into the untouched original array, and the sorted
elements are written back once at the end.  The comparator's int result is read from the
low 32 bits of the return register.
"""

from __future__ import annotations

from collections.abc import Generator

from oracle.emulate.calls import CallContext, Export, GuestCall
from oracle.emulate.guest import GuestFault

MAX_ARRAY = 1 << 28
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


def qsort(ctx: CallContext) -> Steps:
    base, count, size, cmp = ctx.args(4)
    if count < 2 or size == 0:
        return None
    if count * size > MAX_ARRAY:
        raise GuestFault(base, f"qsort of {count} x {size} bytes: larger than any guest array")
    raw = ctx.mem.read(base, count * size)  # faults now if the array is not all mapped
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
