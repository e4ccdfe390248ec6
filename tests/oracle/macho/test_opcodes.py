"""The rebase and bind opcode decoders on hand-written streams: every opcode form, and the
malformed streams that must be reported at the right offset."""

from __future__ import annotations

import pytest

from oracle.emulate.macho.opcodes import Bind, OpcodeError, Rebase, decode_binds, decode_rebases


def test_rebase_forms() -> None:
    stream = bytes([
        0x11,              # SET_TYPE_IMM pointer
        0x22, 0x10,        # SET_SEGMENT_AND_OFFSET_ULEB seg 2, 0x10
        0x52,              # DO_REBASE_IMM_TIMES 2        -> 0x10, 0x18
        0x41,              # ADD_ADDR_IMM_SCALED 1        (0x20 -> 0x28)
        0x60, 0x02,        # DO_REBASE_ULEB_TIMES 2       -> 0x28, 0x30
        0x70, 0x08,        # DO_REBASE_ADD_ADDR_ULEB 8    -> 0x38, then +8+8
        0x80, 0x02, 0x10,  # ULEB_TIMES_SKIPPING 2, 16    -> 0x48, 0x60
        0x30, 0x80, 0x01,  # ADD_ADDR_ULEB 0x80
        0x51,              # -> 0x78 + 0x80 = 0xf8
        0x00,
    ])
    got = [(r.segment, r.offset, r.type) for r in decode_rebases(stream)]
    assert got == [(2, o, 1) for o in (0x10, 0x18, 0x28, 0x30, 0x38, 0x48, 0x60, 0xF8)]
    assert decode_rebases(stream)[0] == Rebase(3, 2, 0x10, 1)


def test_bind_forms() -> None:
    stream = bytes([
        0x12,                          # SET_DYLIB_ORDINAL_IMM 2
        0x40, *b"_a", 0,               # SET_SYMBOL _a
        0x51,                          # SET_TYPE_IMM pointer
        0x60, 0x7C,                    # SET_ADDEND_SLEB -4
        0x72, 0x08,                    # SET_SEGMENT_AND_OFFSET_ULEB seg 2, 8
        0x90,                          # DO_BIND                     -> 8
        0xA0, 0x08,                    # DO_BIND_ADD_ADDR_ULEB 8     -> 0x10, then 0x20
        0xB1,                          # DO_BIND_ADD_ADDR_IMM_SCALED -> 0x20, then 0x30
        0xC0, 0x02, 0x08,              # ULEB_TIMES_SKIPPING 2, 8    -> 0x30, 0x40
        0x3E,                          # SET_DYLIB_SPECIAL_IMM -2 (flat)
        0x41, *b"_w", 0,               # weak import _w
        0x20, 0x81, 0x01,              # SET_DYLIB_ORDINAL_ULEB 129
        0x90,                          # -> 0x50
        0x00,
    ])
    binds = decode_binds(stream)
    assert [(b.symbol, b.offset, b.addend) for b in binds] == [
        ("_a", 0x08, -4), ("_a", 0x10, -4), ("_a", 0x20, -4), ("_a", 0x30, -4),
        ("_a", 0x40, -4), ("_w", 0x50, -4)]
    assert binds[0] == Bind(10, 2, 8, 2, "_a", 0, 1, -4)
    assert binds[-1].ordinal == 129 and binds[-1].weak_import


def test_lazy_entries_from_an_offset() -> None:
    entry_a = bytes([0x72, 0x00, 0x11, 0x40, *b"_a", 0, 0x90, 0x00])
    entry_b = bytes([0x72, 0x08, 0x11, 0x40, *b"_b", 0, 0x90, 0x00])
    stream = entry_a + entry_b
    assert [b.symbol for b in decode_binds(stream, lazy=True)] == ["_a", "_b"]
    [b] = decode_binds(stream, lazy=True, start=len(entry_a), single=True)
    assert (b.symbol, b.offset, b.ordinal) == ("_b", 8, 1)
    with pytest.raises(OpcodeError, match="outside the stream"):
        decode_binds(stream, lazy=True, start=len(stream), single=True)
    with pytest.raises(OpcodeError, match="no DO_BIND"):
        decode_binds(bytes([0x00]) + stream, lazy=True, start=0, single=True)


@pytest.mark.parametrize(("stream", "offset", "message"), [
    (bytes([0x11, 0x51]), 1, "before SET_SEGMENT"),
    (bytes([0x22, 0x80]), 0, "past the end"),
    (bytes([0x22, *[0xFF] * 10, 0x7F]), 0, "wider than 64 bits"),
    (bytes([0x11, 0x22, 0x00, 0xE0]), 3, "unknown rebase opcode 0xe0"),
])
def test_bad_rebase_streams(stream: bytes, offset: int, message: str) -> None:
    with pytest.raises(OpcodeError, match=message) as err:
        decode_rebases(stream)
    assert err.value.offset == offset


@pytest.mark.parametrize(("stream", "offset", "message"), [
    (bytes([0x72, 0x00, 0x90]), 2, "before SET_SYMBOL"),
    (bytes([0x40, *b"_x"]), 0, "not NUL-terminated"),
    (bytes([0x40, *b"_x", 0, 0x90]), 4, "before SET_SEGMENT"),
    (bytes([0x72, 0x00, 0x40, *b"_x", 0, 0xD0]), 6, "0xd0 is not valid"),
])
def test_bad_bind_streams(stream: bytes, offset: int, message: str) -> None:
    with pytest.raises(OpcodeError, match=message) as err:
        decode_binds(stream)
    assert err.value.offset == offset


def test_times_skipping_is_not_a_lazy_opcode() -> None:
    with pytest.raises(OpcodeError, match="lazy bind opcode 0xc0"):
        decode_binds(bytes([0x72, 0x00, 0x40, *b"_x", 0, 0xC0, 2, 0]), lazy=True)


def test_absurd_repeat_counts_are_refused() -> None:
    with pytest.raises(OpcodeError, match="more than"):
        decode_rebases(bytes([0x11, 0x22, 0x00, 0x60, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
    with pytest.raises(OpcodeError, match="more than"):
        decode_binds(bytes([0x72, 0x00, 0x40, *b"_x", 0, 0xC0, 0xFF, 0xFF, 0xFF, 0x7F, 0x00]))
