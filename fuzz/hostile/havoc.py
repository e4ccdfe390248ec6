"""The `havoc` mutation family: structure-blind edits in the manner of AFL++'s havoc stage,
radamsa and libFuzzer's default mutators, run by the same targets, cases, rules and campaign
runner as the other families (targets `T@havoc`, `--family havoc`).

The byte family (mutate.py) aims at fields and structure boundaries and keeps the file's
length or cuts it at a boundary; the semantic family parses and rewrites.  An outside
fuzzer does neither: it stacks one to a few dozen edits, each at a uniformly random offset,
and many of them shift everything after them.  So does this family: bit flips and random
bytes; "interesting" 8/16/32/64-bit values (0, +-1, the signed and unsigned edges, small
negatives, the file's own length and length +-1) little- and big-endian, unaligned; small
additions to a word; a range deleted, duplicated in place, inserted (random bytes or one
byte repeated), overwritten, or copied over another part of the file; a range of another
seed spliced in, or the file's tail replaced by another seed's (AFL's splice).  Text inputs
(scripts, version scripts, .tbd) also get radamsa's line and token edits: a token repeated
thousands of times, lines deleted, duplicated or swapped, unbalanced brackets and quotes,
huge numbers, NUL bytes, invalid UTF-8.

Every choice comes from the `Picker` (a case number replays); random byte strings come from
a `random.Random` seeded by one picked integer, so Hypothesis shrinks them to one choice.
Each edit is bulk bytearray slicing, and the output never grows past 4x the seed + 64 KiB.

    .venv/bin/python -m fuzz.hostile.campaign --family havoc --seconds 60 [--target T]
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import Literal

from .mutate import Picker, Seed, choose

SUFFIX = "@havoc"
MAX_EDITS = 32
GROWTH = 64 << 10  # the output's bound: 4 x the seed + this


def _bound(seed_length: int) -> int:
    return 4 * seed_length + GROWTH


def _random_bytes(pick: Picker, n: int) -> bytes:
    return random.Random(pick.integer(0, (1 << 32) - 1)).randbytes(n)


def _offset(pick: Picker, out: bytearray, end: bool = False) -> int:
    """A uniformly random offset into `out` (`end`: the end itself too, for insertions)."""
    return pick.integer(0, len(out) if end else max(len(out) - 1, 0))


def _block_length(pick: Picker, limit: int) -> int:
    """A range's length, mostly short as AFL's choose_block_len draws them: 1-32 six times
    in ten, 32-128 three, up to `limit` (at least 128) once; never past `limit` (>= 1)."""
    kind = pick.integer(0, 9)
    if kind < 6:
        n = pick.integer(1, 32)
    elif kind < 9:
        n = pick.integer(32, 128)
    else:
        n = pick.integer(128, max(128, limit))
    return max(1, min(n, limit))


def _interesting(length: int) -> list[int]:
    return [0, 1, -1, 2, 0x10, 0x20, 0x40, 0x64, 0x7F, 0x80, 0xFF, 0x100, 0x200, 0x3E8, 0x400,
            0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
            1 << 32, 1 << 63, (1 << 64) - 1, (1 << 63) - 1, -2, -16, -32, -128, -129, -32768,
            length, length - 1, length + 1]


Edit = Callable[[Picker, bytearray, int, Sequence[Seed]], str]


def _flip(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    at = _offset(pick, out)
    out[at] ^= 1 << pick.integer(0, 7)
    return f"bit flip at {at:#x}"


def _random_byte(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    at = _offset(pick, out)
    out[at] ^= pick.integer(1, 255)
    return f"random byte at {at:#x}"


def _order(pick: Picker) -> Literal["little", "big"]:
    return "big" if pick.integer(0, 1) else "little"


def _width(pick: Picker, out: bytearray) -> int:
    width = choose(pick, (1, 2, 4, 8))
    while width > len(out):
        width >>= 1
    return width


def _interesting_value(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    width = _width(pick, out)
    value = choose(pick, _interesting(len(out)))
    order = _order(pick)
    raw = (value & ((1 << (8 * width)) - 1)).to_bytes(width, order)
    if pick.integer(0, 3) == 0 and room >= width:  # inserted rather than written over
        at = _offset(pick, out, end=True)
        out[at:at] = raw
        return f"inserted {value:#x} ({width}, {order}) at {at:#x}"
    at = min(_offset(pick, out), len(out) - width)
    out[at:at + width] = raw
    return f"{value:#x} ({width}, {order}) at {at:#x}"


def _arithmetic(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    width = _width(pick, out)
    order = _order(pick)
    at = min(_offset(pick, out), len(out) - width)
    delta = pick.integer(1, 35) * (1 if pick.integer(0, 1) else -1)
    value = (int.from_bytes(out[at:at + width], order) + delta) & ((1 << (8 * width)) - 1)
    out[at:at + width] = value.to_bytes(width, order)
    return f"{delta:+d} to the {width}-byte {order} word at {at:#x}"


def _delete(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    if len(out) < 2:
        return "nothing to delete"
    n = _block_length(pick, len(out) - 1)
    at = pick.integer(0, len(out) - n)
    del out[at:at + n]
    return f"deleted {n} at {at:#x}"


def _truncate(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    at = _offset(pick, out)
    del out[at:]
    return f"truncated at {at:#x}"


def _duplicate(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    n = _block_length(pick, min(len(out), room))
    at = pick.integer(0, len(out) - n)
    out[at:at] = out[at:at + n]
    return f"duplicated {n} at {at:#x}"


def _insert(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    n = _block_length(pick, room)
    at = _offset(pick, out, end=True)
    if pick.integer(0, 1):
        out[at:at] = _random_bytes(pick, n)
        return f"inserted {n} random at {at:#x}"
    kind = pick.integer(0, 3)
    byte = (0, 0xFF, pick.integer(0, 255), out[_offset(pick, out)] if out else 0)[kind]
    out[at:at] = bytes([byte]) * n
    return f"inserted {n} x {byte:#04x} at {at:#x}"


def _overwrite(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    n = _block_length(pick, len(out))
    at = pick.integer(0, len(out) - n)
    if pick.integer(0, 1):
        out[at:at + n] = _random_bytes(pick, n)
        return f"overwrote {n} at {at:#x} with random bytes"
    byte = choose(pick, (0, 0xFF, pick.integer(0, 255)))
    out[at:at + n] = bytes([byte]) * n
    return f"overwrote {n} at {at:#x} with {byte:#04x}"


def _copy_within(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    n = _block_length(pick, len(out))
    src, dst = pick.integer(0, len(out) - n), pick.integer(0, len(out) - n)
    out[dst:dst + n] = out[src:src + n]
    return f"copied {n} from {src:#x} over {dst:#x}"


def _splice(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    donor = choose(pick, others)
    if not donor.data:
        return "splice of nothing"
    kind = pick.integer(0, 2)
    if kind == 0:  # AFL's splice: this file's head, the donor's tail from a random point
        at = _offset(pick, out, end=True)
        src = pick.integer(0, len(donor.data) - 1)
        tail = donor.data[src:src + room + len(out) - at]
        out[at:] = tail
        return f"tail from {at:#x} replaced by {donor.name}+{src:#x} ({len(tail)})"
    n = _block_length(pick, len(donor.data))
    src = pick.integer(0, len(donor.data) - n)
    piece = donor.data[src:src + n]
    if kind == 1 and n <= room:
        at = _offset(pick, out, end=True)
        out[at:at] = piece
        return f"inserted {n} of {donor.name}+{src:#x} at {at:#x}"
    at = _offset(pick, out, end=True)
    out[at:at + n] = piece  # past the end: the file grows by what does not fit
    return f"overwrote {n} at {at:#x} with {donor.name}+{src:#x}"


BINARY_EDITS: tuple[tuple[int, Edit], ...] = (  # (weight, edit)
    (4, _flip), (3, _random_byte), (5, _interesting_value), (4, _arithmetic), (3, _delete),
    (1, _truncate), (2, _duplicate), (3, _insert), (2, _overwrite), (2, _copy_within),
    (2, _splice),
)

# ---- text: radamsa's line and token edits ----

TOKEN = re.compile(rb"[A-Za-z0-9_.$*?/-]+|[^\sA-Za-z0-9_.$*?/-]")
NUMBER = re.compile(rb"\d+|0x[0-9a-fA-F]+")
UNBALANCED = (b"(", b")", b"{", b"}", b"[", b"]", b"\"", b"'", b"/*", b"*/", b";", b"<<",
              b"&", b"*", b"!", b"%", b"#", b"\\", b"- ", b": ", b"\n---\n", b"...")
HUGE_NUMBERS = (b"9" * 40, b"18446744073709551616", b"0x" + b"f" * 40, b"-1",
                b"-9223372036854775809", b"1e999", b"0x", b"0b" + b"1" * 70, b"9" * 5000,
                b"4294967296", b"-0", b"0o777777777777777777777777", b".nan", b"1K" * 3)
BAD_UTF8 = (b"\xff", b"\xfe\xff", b"\x80", b"\xc3(", b"\xc0\x80", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xef\xbb\xbf")


def _lines(out: bytearray) -> list[bytes]:
    return bytes(out).splitlines(keepends=True) or [b""]


def _repeat_token(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    tokens = [m.span() for m in TOKEN.finditer(out)]
    if not tokens:
        return "no token"
    start, end = choose(pick, tokens)
    token = bytes(out[start:end])
    times = min(choose(pick, (2, 10, 100, 1000, 5000, 20000)), max(room // len(token), 1))
    sep = choose(pick, (b"", b" ", b"\n", b","))
    out[start:end] = (token + sep) * times
    return f"token {token[:20]!r} x {times} at {start:#x}"


def _line_edit(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    lines = _lines(out)
    i = pick.integer(0, len(lines) - 1)
    kind = pick.integer(0, 3)
    if kind == 0:
        del lines[i]
        what = f"deleted line {i + 1}"
    elif kind == 1:
        times = min(choose(pick, (1, 2, 10, 1000)), max(room // max(len(lines[i]), 1), 1))
        lines[i:i] = [lines[i]] * times
        what = f"line {i + 1} repeated {times} times"
    elif kind == 2:
        j = pick.integer(0, len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
        what = f"swapped lines {i + 1} and {j + 1}"
    else:
        j = pick.integer(0, len(lines))
        lines.insert(j, lines[i])
        what = f"line {i + 1} copied before line {j + 1}"
    out[:] = b"".join(lines)
    return what


def _insert_text(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    kind = pick.integer(0, 3)
    junk = choose(pick, (UNBALANCED, HUGE_NUMBERS, (b"\0", b"\0" * 16), BAD_UTF8)[kind])
    at = _offset(pick, out, end=True)
    out[at:at] = junk[:max(room, 1)]
    return f"inserted {junk[:20]!r} at {at:#x}"


def _huge_number(pick: Picker, out: bytearray, room: int, others: Sequence[Seed]) -> str:
    numbers = [m.span() for m in NUMBER.finditer(out)]
    if not numbers:
        return _insert_text(pick, out, room, others)
    start, end = choose(pick, numbers)
    number = choose(pick, HUGE_NUMBERS)
    out[start:end] = number
    return f"number at {start:#x} -> {number[:20]!r}"


TEXT_EDITS: tuple[tuple[int, Edit], ...] = (
    (3, _repeat_token), (4, _line_edit), (4, _insert_text), (2, _huge_number),
    (1, _flip), (1, _random_byte), (1, _delete), (1, _duplicate), (1, _insert),
    (1, _copy_within), (1, _splice),
)


def _table(edits: tuple[tuple[int, Edit], ...]) -> tuple[Edit, ...]:
    return tuple(edit for weight, edit in edits for _ in range(weight))


BINARY_TABLE, TEXT_TABLE = _table(BINARY_EDITS), _table(TEXT_EDITS)


def mutate_havoc(pick: Picker, seed: Seed, others: Sequence[Seed] = ()
                 ) -> tuple[bytes, list[str]]:
    """1 to MAX_EDITS stacked structure-blind edits of `seed` (a power of two drawn first,
    then a count up to it, so most cases stack a few and some stack many)."""
    out = bytearray(seed.data)
    bound = _bound(len(seed.data))
    table = BINARY_TABLE if seed.layout.fields else TEXT_TABLE
    donors = others or [seed]
    done: list[str] = []
    for _ in range(pick.integer(1, 1 << pick.integer(0, MAX_EDITS.bit_length() - 1))):
        if not out:  # only an insertion makes something of nothing
            edit: Edit = _insert
        else:
            edit = choose(pick, table)
        done.append(edit(pick, out, max(bound - len(out), 1), donors))
        del out[bound:]
    return bytes(out), done
