"""oracle.records.quick_init: the faster constructor makes the same frozen records."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from oracle.records import quick_init


@quick_init
@dataclasses.dataclass(frozen=True)
class Quick:
    index: int
    name: str
    flags: int = 7
    hidden: tuple[int, ...] = dataclasses.field(default=(), init=False)


@dataclasses.dataclass(frozen=True)
class Plain:
    index: int
    name: str
    flags: int = 7
    hidden: tuple[int, ...] = dataclasses.field(default=(), init=False)


def test_same_record_as_the_dataclass_makes() -> None:
    pairs = [(Quick(1, "a"), Plain(1, "a")),
             (Quick(1, name="b", flags=3), Plain(1, name="b", flags=3)),
             (Quick(index=2, name="c"), Plain(index=2, name="c"))]
    for quick, plain in pairs:
        assert dataclasses.astuple(quick) == dataclasses.astuple(plain)
    assert Quick(1, "a") == Quick(1, "a") and hash(Quick(1, "a")) == hash(Quick(1, "a"))
    assert Quick(1, "a") != Quick(1, "a", 8)
    assert repr(Quick(1, "a")) == "Quick(index=1, name='a', flags=7, hidden=())"
    assert dataclasses.replace(Quick(1, "a"), flags=9) == Quick(1, "a", 9)
    assert pickle.loads(pickle.dumps(Quick(1, "a"))) == Quick(1, "a")


def test_still_frozen_and_still_checks_arguments() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Quick(1, "a").name = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Quick(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick(1, "a", 2, 3)  # type: ignore[call-arg]


def test_refuses_what_it_cannot_copy() -> None:
    with pytest.raises(TypeError):
        quick_init(dataclasses.dataclass(type("Mutable", (), {"__annotations__": {"a": int}})))
    with pytest.raises(TypeError):
        quick_init(dataclasses.dataclass(frozen=True)(type(
            "Factory", (), {"__annotations__": {"a": list},
                            "a": dataclasses.field(default_factory=list)})))


def test_replaced_is_dataclasses_replace() -> None:
    from oracle.records import replaced

    record = Quick(1, "a", 3)
    assert replaced(record, flags=9) == dataclasses.replace(record, flags=9) == Quick(1, "a", 9)
    assert replaced(record, name="b").name == "b" and record.name == "a"  # a new instance
    assert type(replaced(record)) is Quick
    with pytest.raises(TypeError):
        replaced(record, colour=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        replaced(record, flags=2).flags = 3  # type: ignore[misc]
