"""linker.macho.dyldinfo, decoded by an independent reader written here."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from linker.macho.dyldinfo import (
    BindEntry,
    export_trie,
    lazy_bind_opcodes,
    rebase_opcodes,
    sleb128,
    uleb128,
)


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _walk(trie: bytes, pos: int = 0, prefix: str = "") -> dict[str, int]:
    out = {}
    size, pos = _uleb(trie, pos)
    if size:
        flags, p = _uleb(trie, pos)
        address, _ = _uleb(trie, p)
        assert flags == 0
        out[prefix] = address
    pos += size
    count = trie[pos]
    pos += 1
    for _ in range(count):
        end = trie.index(b"\0", pos)
        edge = trie[pos:end].decode()
        child, pos = _uleb(trie, end + 1)
        out.update(_walk(trie, child, prefix + edge))
    return out


@given(st.dictionaries(st.text("_abcm", min_size=1, max_size=6), st.integers(0, 1 << 40),
                       min_size=1, max_size=30))
def test_export_trie_round_trips(exports: dict[str, int]) -> None:
    assert _walk(export_trie([(k, v, 0) for k, v in exports.items()])) == exports


@given(st.integers(0, 1 << 64))
def test_uleb(value: int) -> None:
    assert _uleb(uleb128(value), 0) == (value, len(uleb128(value)))


def test_sleb() -> None:
    assert sleb128(-1) == b"\x7f" and sleb128(63) == b"\x3f" and sleb128(64) == b"\xc0\x00"


def test_lazy_offsets_point_at_each_entry() -> None:
    entries = [BindEntry(2, 0x10 * n, 1, f"_f{n}") for n in range(3)]
    stream, starts = lazy_bind_opcodes(entries)
    assert starts[0] == 0
    for n, start in enumerate(starts):
        assert stream[start] == 0x72  # SET_SEGMENT_AND_OFFSET_ULEB | segment 2
        name_at = stream.index(f"_f{n}".encode(), start)
        assert stream[name_at - 1] == 0x40 and stream[name_at + 3] == 0  # flags, NUL
        assert stream[name_at + 4] == 0x90 and stream[name_at + 5] == 0  # DO_BIND, DONE


def test_rebase_stream() -> None:
    stream = rebase_opcodes([(2, 8), (2, 0)])
    assert stream.startswith(bytes([0x11, 0x22, 0x00, 0x51, 0x22, 0x08, 0x51, 0x00]))
    assert len(stream) % 8 == 0
