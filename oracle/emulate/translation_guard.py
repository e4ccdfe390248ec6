"""Guest code that Unicorn cannot translate without crashing the whole process.

Unicorn 2 (QEMU 5's TCG) translates straight-line code into blocks of up to 512
instructions and about a page of bytes.  Its x86 front end allocates a TCG temporary for
the constant operand of most x87 register-form instructions (two a `fcmov`, `fxch`,
`fadd st, st(i)`, ...) and of SSE instructions with an immediate (`pshufd`, `shufps`,
`0F 3A` forms) and never frees it; the pool holds 512 and is not bounds-checked, so a
block of about 230 x87 register instructions (or 460 of the others) writes past it and
the process dies of SIGSEGV inside emu_start (measured on unicorn 2.1.4: 230 `fcmovu`
translate, 235 crash; `fld1` and `pshufd` crash near 470).  A hostile executable found it
(the havoc campaign: a run of 0xDA bytes at the entry point).  No Unicorn control limits
a block's length, so the code is checked before it can run: `first_unsafe` finds a
place where one block could hold that many, and the run stops with a fault there.

The check over-approximates the cost of each instruction from its opcode bytes
(`_pair_weights`: the classes a sweep of every opcode, ModRM field and prefix measured)
and refuses at LIMIT, below the measured crash.  A cheap sliding-window sum passes ordinary
code at once; only a window holding LIMIT by those weights is decoded (capstone, from every
byte offset, as a jump may land anywhere; bytes Capstone cannot decode are read as QEMU
reads them: see _qemu_length), and a start is refused only if the straight line from it,
capped as the translator caps a block, reaches LIMIT.  Decoding is about 10 us a byte:
the run's deadline bounds it (GuardTimeout), not a size limit, so that a program with the
whole of libm's x87 code still runs.  Code a program writes while it runs is checked
before it is translated too: code_writes.py keeps writable code never writable and
executable at once in Unicorn, and checks a page when the program first runs code from it
after writing it.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

import capstone
import numpy as np

LIMIT = 400  # weighted leaks in one block; Unicorn crashes at about 460
BLOCK_BYTES = 4096  # a block's bytes: it ends past a page less 32, plus the last instruction
BLOCK_INSNS = 512  # TCG_MAX_INSNS
CHUNK_STARTS = 1 << 15  # starts decoded and summed at once
CHUNK = 1 << 22  # offsets weighed and window-summed per numpy pass (bounds its arrays)
# Instructions after which the translator ends a block (control transfers, traps): the
# straight line from a start stops there.  Any other end the translator makes only
# shortens a block, so leaving it out keeps the check on the safe side.
_ENDS = frozenset({
    "jmp", "ljmp", "call", "lcall", "ret", "retf", "retfq", "iret", "iretd", "iretq",
    "int", "int1", "int3", "syscall", "sysenter", "sysexit", "sysret", "hlt",
    "loop", "loope", "loopne", "jcxz", "jecxz", "jrcxz", "ud0", "ud1", "ud2",
})


def _pair_weights(code: np.ndarray, bits: int) -> np.ndarray:
    """Per byte offset: what an instruction starting there could leak, judged by its
    opcode bytes (an over-approximation: prefixes and operands are not told apart).
    Measured on unicorn 2.1.4 by repeating each opcode (every ModRM register field,
    register and memory forms, no prefix, 66, F2, F3, REX.W, LOCK; both modes) until the
    process died: x87 register forms leak two temporaries (crash at about 235 in a block);
    one each (crash at about 465): fldenv, fnstenv, frstor, fnsave (D9/DD /4 and /6),
    mov to a segment register (8E), mov to/from a control or debug register (0F 20-23),
    the SSE shuffles with an immediate (0F 70, 0F C6), the 0F 3A map (every form takes an
    immediate: palignr, pinsr/pextr, pclmulqdq, ...), crc32 and movbe (0F 38 F0/F1),
    LOCK bt/bts/btr/btc on a register, and in 32-bit mode aam, aad and into (D4, D5,
    CE)."""
    weights = np.zeros(len(code), dtype=np.int8)
    if len(code) < 2:
        return weights
    first, second = code[:-1], code[1:]
    reg = (second >> 3) & 7
    x87 = (first & 0xF8) == 0xD8
    x87_register = x87 & (second >= 0xC0)
    x87_environment = ((first == 0xD9) | (first == 0xDD)) & (second < 0xC0) & (
        (reg == 4) | (reg == 6))
    escaped = (first == 0x0F) & ((second == 0x70) | (second == 0xC6) | (second == 0x3A)
                                 | ((second >= 0x20) & (second <= 0x23)))
    third = np.zeros(len(first), dtype=np.uint8)
    third[:-1] = code[2:]
    crc32 = (first == 0x0F) & (second == 0x38) & ((third & 0xFE) == 0xF0)
    # bt/bts/btr/btc on a register: with LOCK (undefined, yet translated) each leaks one;
    # weighed without looking for the prefix, which costs real code nothing
    bit_test = (first == 0x0F) & ((second == 0xA3) | (second == 0xAB) | (second == 0xB3)
                                  | (second == 0xBB) | (second == 0xBA)) & (third >= 0xC0)
    one = (first == 0x8E) | x87_environment | escaped | crc32 | bit_test
    if bits == 32:
        one |= (first == 0xD4) | (first == 0xD5) | (first == 0xCE)
    weights[:-1] = np.where(x87_register, 2, np.where(one, 1, 0))
    if bits == 32 and code[-1] == 0xCE:  # into needs no second byte
        weights[-1] = 1
    return weights


def weights_rise(old: bytes, new: bytes, bits: int) -> bool:
    """Whether an instruction starting in `new` weighs more than one starting at the same
    offset in `old` (the same bytes but for a write; each with the two bytes after its
    last offset): a write for which this is False makes no window heavier."""
    if len(old) <= 24:  # a store's few bytes: cheaper without numpy
        return any(weight_at(new[k], new[k + 1], new[k + 2], bits)
                   > weight_at(old[k], old[k + 1], old[k + 2], bits)
                   for k in range(len(old) - 2))
    before = _pair_weights(np.frombuffer(old, np.uint8), bits)[:-2]
    after = _pair_weights(np.frombuffer(new, np.uint8), bits)[:-2]
    return bool((after > before).any())


@lru_cache(maxsize=2)
def weighed_first_bytes(bits: int) -> frozenset[int]:
    """The bytes at which weight_at can weigh an instruction (derived from it, so that
    the write hooks' quick test cannot drift from the table)."""
    return frozenset(first for first in range(256)
                     if any(weight_at(first, second, third, bits)
                            for second in range(256) for third in (0x00, 0xC0, 0xF0)))


def weight_at(first: int, second: int, third: int, bits: int) -> int:
    """_pair_weights for one offset (its byte and the two after it), without numpy: for
    a write hook judging a store's few bytes (code_writes.py).  Same table."""
    if (first & 0xF8) == 0xD8:
        if second >= 0xC0:
            return 2
        reg = (second >> 3) & 7
        return 1 if first in (0xD9, 0xDD) and reg in (4, 6) else 0
    if first == 0x0F:
        if second in (0x70, 0xC6, 0x3A) or 0x20 <= second <= 0x23:
            return 1
        if second == 0x38 and (third & 0xFE) == 0xF0:
            return 1
        return 1 if second in (0xA3, 0xAB, 0xB3, 0xBB, 0xBA) and third >= 0xC0 else 0
    if first == 0x8E:
        return 1
    return 1 if bits == 32 and first in (0xD4, 0xD5, 0xCE) else 0


def _all_pair_weights(raw: np.ndarray, bits: int) -> np.ndarray:
    """_pair_weights CHUNK bytes at a time (each chunk with the two bytes after it, its
    last pair's second and third): its temporaries stay megabytes for any code (over a
    library's 70 MB at once they were gigabytes)."""
    weights = np.zeros(len(raw), dtype=np.int8)
    for lo in range(0, len(raw), CHUNK):
        if time.monotonic() > _deadline[0]:
            raise GuardTimeout
        hi = min(lo + CHUNK, len(raw))
        weights[lo:hi] = _pair_weights(raw[lo:hi + 2], bits)[:hi - lo]
    return weights


def _flagged_starts(weights: np.ndarray) -> np.ndarray:
    """The offsets whose window of BLOCK_BYTES holds LIMIT or more by the pair weights,
    judged CHUNK starts at a time: over the whole of a library's 70 MB of code at once,
    the int64 sums and indices took gigabytes (5.7 GB for libLLVM, past any memory cap)."""
    found = []
    n = len(weights)
    for lo in range(0, n, CHUNK):
        if time.monotonic() > _deadline[0]:
            raise GuardTimeout
        hi = min(lo + CHUNK, n)
        window = weights[lo:min(hi + BLOCK_BYTES, n)]
        sums = np.concatenate(([0], np.cumsum(window, dtype=np.int64)))
        starts = np.arange(hi - lo)
        ends = np.minimum(starts + BLOCK_BYTES, len(window))
        found.append(np.nonzero(sums[ends] - sums[starts] >= LIMIT)[0] + lo)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


class GuardTimeout(Exception):
    """The check ran past the run's deadline (decoding megabytes of flagged code is
    seconds of Python: the check is part of the run, and its time limit covers it)."""


_deadline = [math.inf]  # of the check under way (not part of its cache key)


def first_unsafe(code: bytes, bits: int, deadline: float = math.inf) -> int | None:
    """The offset in `code` of a start from which one translated block could exhaust
    Unicorn's temporaries, or None; GuardTimeout past `deadline` (time.monotonic)."""
    _deadline[0] = deadline
    try:
        return _first_unsafe(bytes(code), bits)
    finally:
        _deadline[0] = math.inf


def crowded(code: bytes, bits: int) -> bool:
    """Whether some window of BLOCK_BYTES in `code` weighs LIMIT or more (code the check
    has to decode).  Code that is not stays safe under any write whose bytes, and the
    two before them, cannot begin a weighed instruction: no window grows."""
    return bool(len(_flagged_starts(_all_pair_weights(np.frombuffer(code, np.uint8), bits))))


@lru_cache(maxsize=32)
def _first_unsafe(code: bytes, bits: int) -> int | None:
    raw = np.frombuffer(code, dtype=np.uint8)
    weights = _all_pair_weights(raw, bits)
    flagged = _flagged_starts(weights)
    if not len(flagged):
        return None
    # a block from a start the window passes cannot reach LIMIT (an instruction costs at
    # most its pairs): only flagged starts are decoded, with the bytes their blocks cover
    breaks = np.nonzero(np.diff(flagged) > BLOCK_BYTES)[0]
    # (decoding is about 10 us a byte: the run's deadline, not a size limit, bounds it, so
    # that a program with the whole of libm's x87 code still runs)
    groups = list(zip(np.concatenate(([0], breaks + 1)).tolist(),
                      np.concatenate((breaks, [len(flagged) - 1])).tolist(), strict=True))
    for first, last in groups:
        lo, hi = int(flagged[first]), int(flagged[last])
        for chunk in range(lo, hi + 1, CHUNK_STARTS):  # memory stays a few megabytes
            last_start = min(chunk + CHUNK_STARTS - 1, hi)
            found = _decoded_check(code, weights, chunk, last_start,
                                   min(last_start + BLOCK_BYTES + 16, len(code)), bits)
            if found is not None:
                return found
    return None


def _decoded_check(code: bytes, weights: np.ndarray, lo: int, last_start: int, hi: int,
                   bits: int) -> int | None:
    """Decode every offset of code[lo:hi] (a jump may land mid-instruction; a Python loop,
    but only over flagged code, and the answer is cached by content) and follow the
    straight line from each start up to `last_start`."""
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64 if bits == 64
                     else capstone.CS_MODE_32)
    # the sums of this range only (an instruction reaches 16 bytes past it): as a list over
    # the whole code for each chunk of starts, a library's 70 MB was gigabytes of ints
    top = min(hi + 16, len(weights))
    pair_sums = _Shifted(
        np.concatenate(([0], np.cumsum(weights[lo:top], dtype=np.int64))).tolist(), lo)
    n = hi - lo
    length = [0] * n
    cost = [0] * n
    unknown = [False] * n
    for k in range(n):  # every offset: a jump may land in the middle of an instruction
        if not k & 1023 and time.monotonic() > _deadline[0]:
            raise GuardTimeout
        i = lo + k
        decoded = next(md.disasm_lite(code[i:i + 16], i, 1), None)
        if decoded is None:
            size, is_prefix = _qemu_length(code, i, bits)
            cost[k] = min(int(pair_sums[min(i + max(size, 1), top)] - pair_sums[i]), 2)
            if not size:  # undefined to QEMU too: #UD ends the block
                length[k], cost[k] = 1, -cost[k] - 1
                continue
            length[k], unknown[k] = size, is_prefix
            continue
        size, mnemonic = decoded[1], decoded[2]
        # its bytes' pairs, the last one reaching into the next instruction (a one-byte
        # `into` costs one): an over-approximation
        cost[k] = min(int(pair_sums[min(i + size, top)] - pair_sums[i]), 2)
        if mnemonic in _ENDS or mnemonic.startswith("j"):
            cost[k] = -cost[k] - 1  # ends the block after itself
        length[k] = size
    return _first_capped_over(length, cost, unknown, last_start - lo + 1, lo)


class _Shifted:
    """Prefix sums that start at offset `base` of the code, read with the code's offsets."""

    __slots__ = ("base", "items")

    def __init__(self, items: list[int], base: int) -> None:
        self.items, self.base = items, base

    def __getitem__(self, at: int) -> int:
        return self.items[at - self.base]


# x87 register forms Capstone decodes as nothing and QEMU as fcom/fcomp/fxch/fstp
# (checked one by one against Unicorn): DC D0-DF, DD C8-CF, DE D0-D7, DF C8-DF
_X87_ALIASES = frozenset({(0xDC, 0xD0), (0xDC, 0xD8), (0xDD, 0xC8), (0xDE, 0xD0),
                          (0xDF, 0xC8), (0xDF, 0xD0), (0xDF, 0xD8)})
_PREFIXES = frozenset({0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3})


def _qemu_length(code: bytes, i: int, bits: int) -> tuple[int, bool]:
    """(length, is a prefix) of what QEMU translates at `i` where Capstone knows no
    instruction, for the forms the sweep found QEMU translating and leaking on: a prefix
    (then the rest is read from the next byte), the x87 aliases, and movbe's register
    form (0F 38 F0/F1); (0, False) for anything else, which QEMU refuses as undefined
    too (checked over the 0F 38 and 0F 3A maps)."""
    first = code[i]
    if first in _PREFIXES or (bits == 64 and 0x40 <= first <= 0x4F):
        return 1, True
    second = code[i + 1] if i + 1 < len(code) else 0
    if (first, second & 0xF8) in _X87_ALIASES:
        return 2, False
    if first == 0x0F and second == 0x38 and i + 3 < len(code) and code[i + 2] & 0xFE == 0xF0:
        return 3 + _modrm_length(code, i + 3, bits), False
    return 0, False


def _modrm_length(code: bytes, at: int, bits: int) -> int:
    """The bytes of a ModRM byte at `at` with its SIB and displacement (32/64-bit forms)."""
    modrm = code[at]
    mod, rm = modrm >> 6, modrm & 7
    if mod == 3:
        return 1
    size = 1
    if rm == 4:
        size += 1
        if mod == 0 and at + 1 < len(code) and code[at + 1] & 7 == 5:
            size += 4
    elif mod == 0 and rm == 5:
        size += 4
    return size + (1 if mod == 1 else 4 if mod == 2 else 0)


def _first_capped_over(length: list[int], cost: list[int], unknown: list[bool], starts: int,
                       lo: int) -> int | None:
    """The first of the first `starts` offsets whose block, capped as the translator caps
    it (BLOCK_INSNS instructions, BLOCK_BYTES - 32 bytes, or an ending instruction), costs
    LIMIT or more.  Every start's block at once: the lines are chains of `next` links,
    summed from the end, and each start's last instruction in its block is found by binary
    lifting (a walk per start was 4,000 steps for each of thousands of starts: seconds).
    Prefixes QEMU reads as part of an instruction Capstone cannot decode (`unknown`) are
    no instruction for the cap."""
    n = len(length)
    sentinel = n
    ends = [c < 0 for c in cost]
    nxt = [sentinel if ends[k] else min(k + length[k], sentinel) for k in range(n)]
    suffix = [0] * (n + 1)  # the line's cost from k to its end (or the window's)
    count = [0] * (n + 1)  # the instructions on it
    for k in range(n - 1, -1, -1):
        suffix[k] = (-cost[k] - 1 if ends[k] else cost[k]) + suffix[nxt[k]]
        count[k] = (not unknown[k]) + count[nxt[k]]
    total = np.array(suffix, dtype=np.int64)
    insns = np.array(count, dtype=np.int64)
    up = np.array([*nxt, sentinel], dtype=np.int64)
    levels = [up]
    while 1 << len(levels) <= BLOCK_BYTES:
        levels.append(levels[-1][levels[-1]])
    start = np.arange(starts, dtype=np.int64)
    node = start.copy()
    for jump in reversed(levels):
        candidate = jump[node]
        inside = (candidate != sentinel) & (candidate - start < BLOCK_BYTES - 32) & (
            insns[start] - insns[candidate] < BLOCK_INSNS)
        node = np.where(inside, candidate, node)
    capped = total[start] - total[up[node]]
    over = np.flatnonzero(capped >= LIMIT)
    return lo + int(over[0]) if len(over) else None
