"""strspn, strcspn, strpbrk and strtok_r on flat memory."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from oracle.emulate.libc import tokens
from oracle.emulate.libc.flatmem import FlatMemory

BASE = 0x3000
S, SET, SAVE = BASE, BASE + 0x100, BASE + 0x200
TEXT = st.binary(max_size=20, min_size=0).map(lambda b: bytes(c % 5 + 0x61 for c in b))


def memory_with(text: bytes, charset: bytes) -> FlatMemory:
    mem = FlatMemory(BASE, 0x300)
    mem.write(S, text + b"\0")
    mem.write(SET, charset + b"\0")
    return mem


@given(TEXT, TEXT)
def test_spans_agree_with_their_definitions(text: bytes, charset: bytes) -> None:
    mem = memory_with(text, charset)
    accepted = next((i for i, c in enumerate(text) if c not in charset), len(text))
    rejected = next((i for i, c in enumerate(text) if c in charset), len(text))
    assert tokens.strspn(mem, S, SET) == accepted
    assert tokens.strcspn(mem, S, SET) == rejected
    assert tokens.strpbrk(mem, S, SET) == (0 if rejected == len(text) else S + rejected)


@given(st.binary(max_size=24).map(lambda b: bytes(b"ab, "[c % 4] for c in b)))
def test_strtok_r_splits_like_python(text: bytes) -> None:
    mem = memory_with(text, b", ")
    found = []
    token = tokens.strtok_r(mem, S, SET, SAVE, word=8)
    while token:
        found.append(mem.read_cstr(token))
        token = tokens.strtok_r(mem, 0, SET, SAVE, word=8)
    assert found == [t for t in text.replace(b",", b" ").split(b" ") if t]
    assert int.from_bytes(mem.read(SAVE, 8), "little") == S + len(text)  # parked at the end


def test_strtok_r_writes_terminators_and_saves_the_position() -> None:
    mem = memory_with(b",,ab,,cd", b",")
    assert tokens.strtok_r(mem, S, SET, SAVE, word=4) == S + 2
    assert mem.read(S, 8) == b",,ab\0,cd"
    assert int.from_bytes(mem.read(SAVE, 4), "little") == S + 5
