"""Byte-level mutations of valid inputs, aimed by their layout (fuzz.hostile.layout).

One mutation draws its choices from a `Picker`: Hypothesis's `data.draw` in the properties
(so failures shrink to a few small choices) or a `random.Random` in the campaigns (fast).
The operators: a field set to 0, all-ones, the largest positive or a negative value, the
file's length or past it, a neighbour of its value or its value scaled up; a count, size or
offset field inflated; bit flips (mostly inside fields); truncation at a structure boundary
(or one byte either side); a zeroed run; splicing in bytes of another seed; for text inputs
(.tbd, linker scripts), lines dropped, repeated, swapped, or junk inserted (invalid UTF-8,
YAML and script punctuation).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from hypothesis import strategies as st

from .layout import ASCII, BIG, Field, Layout, layout_of

T = TypeVar("T")

JUNK = (b"\xff\xfe", b"\x80", b"\xc3(", b"\x00", b": [", b"]", b"'", b"\"", b"{", b"- ",
        b"\t", b"!<tag>", b"&a *a", b"GROUP(", b")", b"INPUT(", b"/*", b"%", b"\n---\n",
        b"symbols: [ _x\xff ]", b"tbd-version: 99", b"targets: [ ]", b"x" * 300)


class Picker(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...


class RandomPicker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawPicker:
    """Choices drawn from Hypothesis (`st.data()`), so they shrink."""

    def __init__(self, draw: Callable[[st.SearchStrategy[int]], int]) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


def choose(pick: Picker, items: Sequence[T]) -> T:
    return items[pick.integer(0, len(items) - 1)]


@dataclass(frozen=True)
class Seed:
    """A valid input: its bytes and where its fields are."""

    name: str
    data: bytes
    layout: Layout
    deep: bool = False  # fields inside compiler-made contents too (layout_deep)

    @staticmethod
    def of(name: str, data: bytes, deep: bool = False) -> Seed:
        return Seed(name, data, layout_of(data, deep), deep)


def _extreme_values(field: Field, current: int, length: int) -> list[int]:
    bits = 8 * field.width
    top = (1 << bits) - 1
    return [0, top, top >> 1, 1 << (bits - 1), top - 1, length, length + 1, length - 1,
            length + 0x1000, current + 1, current - 1, current * 16, current << (bits // 2),
            0x7FFF_FFFF, 0xFFFF_FFF0, 0x4000_0000, 1 << 20]


def _order(field: Field) -> Literal["little", "big"]:
    return "big" if field.encoding == BIG else "little"


def _write_field(out: bytearray, field: Field, value: int) -> None:
    if field.encoding == ASCII:
        text = str(value)[:field.width].ljust(field.width).encode()
        out[field.offset:field.offset + field.width] = text
        return
    value &= (1 << (8 * field.width)) - 1
    out[field.offset:field.offset + field.width] = value.to_bytes(field.width, _order(field))


def _set_field(pick: Picker, out: bytearray, layout: Layout) -> str:
    field = choose(pick, layout.fields)
    if field.offset + field.width > len(out):
        return "field past the end"
    raw = bytes(out[field.offset:field.offset + field.width])
    if field.encoding == ASCII:
        try:
            current = int(raw.decode().strip() or "0")
        except ValueError:
            current = 0
        if pick.integer(0, 3) == 0:
            junk = choose(pick, [b"-1", b"", b"0x10", b"9" * field.width, b"\xff", b"+5"])
            out[field.offset:field.offset + field.width] = junk[:field.width].ljust(field.width)
            return f"{field.what} = {junk!r}"
    else:
        current = int.from_bytes(raw, _order(field))
    value = choose(pick, _extreme_values(field, current, len(out)))
    _write_field(out, field, value)
    return f"{field.what} = {value:#x}"


def _inflate(pick: Picker, out: bytearray, layout: Layout) -> str:
    counts = [f for f in layout.fields if f.count] or list(layout.fields)
    field = choose(pick, counts)
    raw = bytes(out[field.offset:field.offset + field.width])
    if field.encoding == ASCII:
        try:
            current = int(raw.decode().strip() or "0")
        except ValueError:
            current = 0
    else:
        current = int.from_bytes(raw, _order(field))
    factor = choose(pick, [2, 3, 16, 1000, 1 << 16, 1 << 24])
    value = max(current, 1) * factor + pick.integer(0, 7)
    _write_field(out, field, value)
    return f"{field.what} inflated to {value:#x}"


def _bit_flips(pick: Picker, out: bytearray, layout: Layout) -> str:
    flips = pick.integer(1, 4)
    where = []
    for _ in range(flips):
        if layout.fields and pick.integer(0, 3):
            field = choose(pick, layout.fields)
            at = field.offset + pick.integer(0, field.width - 1)
        else:
            at = pick.integer(0, len(out) - 1)
        if at < len(out):
            out[at] ^= 1 << pick.integer(0, 7)
            where.append(at)
    return f"bit flips at {where}"


def _truncate(pick: Picker, out: bytearray, layout: Layout) -> str:
    cut = choose(pick, layout.boundaries) + pick.integer(-1, 1)
    cut = max(0, min(cut, len(out) - 1))
    del out[cut:]
    return f"truncated at {cut:#x}"


def _zero_run(pick: Picker, out: bytearray, layout: Layout) -> str:
    start = min(choose(pick, layout.boundaries), len(out) - 1)
    size = choose(pick, [1, 4, 8, 16, 64, 256])
    out[start:start + size] = bytes(len(out[start:start + size]))
    return f"zeroed {size} at {start:#x}"


def _splice(pick: Picker, out: bytearray, layout: Layout, others: Sequence[Seed]) -> str:
    donor = choose(pick, others)
    if not donor.data:
        return "splice of nothing"
    src = min(choose(pick, donor.layout.boundaries), len(donor.data) - 1)
    size = choose(pick, [4, 16, 64, 256, 4096])
    piece = donor.data[src:src + size]
    dst = min(choose(pick, layout.boundaries), len(out))
    if pick.integer(0, 1):
        out[dst:dst + len(piece)] = piece
        return f"overwrote {len(piece)} at {dst:#x} with {donor.name}+{src:#x}"
    out[dst:dst] = piece
    return f"inserted {len(piece)} at {dst:#x} from {donor.name}+{src:#x}"


def _text_edit(pick: Picker, out: bytearray) -> str:
    lines = bytes(out).splitlines(keepends=True) or [b""]
    i = pick.integer(0, len(lines) - 1)
    kind = pick.integer(0, 4)
    if kind == 0:
        del lines[i]
        what = f"dropped line {i + 1}"
    elif kind == 1:
        lines.insert(i, lines[i])
        what = f"repeated line {i + 1}"
    elif kind == 2:
        j = pick.integer(0, len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
        what = f"swapped lines {i + 1} and {j + 1}"
    else:
        junk = choose(pick, JUNK)
        at = pick.integer(0, len(lines[i]))
        lines[i] = lines[i][:at] + junk + lines[i][at:]
        what = f"inserted {junk!r} in line {i + 1}"
    out[:] = b"".join(lines)
    return what


def mutate(pick: Picker, seed: Seed, others: Sequence[Seed] = ()) -> tuple[bytes, list[str]]:
    """One to three mutations of `seed`; returns the bytes and what was done."""
    out = bytearray(seed.data)
    done: list[str] = []
    binary = bool(seed.layout.fields)
    for _ in range(pick.integer(1, 3)):
        if not out:
            break
        layout = (seed.layout if len(out) == len(seed.data)
                  else layout_of(bytes(out), seed.deep))
        if not binary:
            op = pick.integer(0, 5)
            if op <= 2:
                done.append(_text_edit(pick, out))
            elif op == 3:
                done.append(_truncate(pick, out, layout))
            elif op == 4:
                done.append(_bit_flips(pick, out, layout))
            else:
                done.append(_splice(pick, out, layout, others or [seed]))
            continue
        if not layout.fields:
            layout = seed.layout
        op = pick.integer(0, 9)
        if op <= 3:
            done.append(_set_field(pick, out, layout))
        elif op <= 5:
            done.append(_inflate(pick, out, layout))
        elif op == 6:
            done.append(_bit_flips(pick, out, layout))
        elif op == 7:
            done.append(_truncate(pick, out, layout))
        elif op == 8:
            done.append(_zero_run(pick, out, layout))
        else:
            done.append(_splice(pick, out, layout, others or [seed]))
    return bytes(out), done
