"""linker/records.py: the cheap `@dataclass` keeps the standard decorator's semantics."""

from __future__ import annotations

import copy
import dataclasses
import pathlib
import pickle

import pytest

from linker import records
from linker.records import dataclass, field


@dataclass(frozen=True, slots=True)
class Frozen:
    number: int
    name: str = "x"
    items: tuple[int, ...] = ()
    extra: list[int] = field(default_factory=list)


@dataclass
class Mutable:
    number: int
    table: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class ByIdentity:
    number: int = 3


def test_init_defaults_and_repr_as_the_standard_decorator() -> None:
    record = Frozen(1)
    assert repr(record) == "Frozen(number=1, name='x', items=(), extra=[])"
    assert Frozen(1, "y", (2,), [3]) == Frozen(number=1, name="y", items=(2,), extra=[3])
    assert Frozen(1).extra is not Frozen(1).extra  # a fresh default per instance
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        Frozen()  # type: ignore[call-arg]


def test_frozen_equality_hash_and_guard() -> None:
    assert Frozen(1) == Frozen(1) and Frozen(1) != Frozen(2)
    assert Frozen(1).__eq__(object()) is NotImplemented
    assert hash(Frozen(1, items=(1,), extra=None)) == hash(  # type: ignore[arg-type]
        Frozen(1, items=(1,), extra=None))  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Frozen(1).number = 2  # type: ignore[misc]
    assert Frozen.__slots__ == ("number", "name", "items", "extra")
    assert not hasattr(Frozen(1), "__dict__")


def test_mutable_and_identity_records() -> None:
    record = Mutable(1)
    record.number = 5
    assert record == Mutable(5) and Mutable.__hash__ is None  # eq without frozen: unhashable
    assert "table" not in vars(Mutable)  # no field() spec left on the class
    assert ByIdentity() != ByIdentity() and hash(ByIdentity()) != 0
    assert ByIdentity.__slots__ == ("number",)


def test_standard_library_sees_dataclasses() -> None:
    record = Frozen(1, extra=[2])
    assert dataclasses.is_dataclass(record)
    assert [f.name for f in dataclasses.fields(record)] == ["number", "name", "items", "extra"]
    assert dataclasses.replace(record, name="z") == Frozen(1, "z", (), [2])
    assert dataclasses.asdict(record) == {"number": 1, "name": "x", "items": (), "extra": [2]}
    assert Frozen.__match_args__ == ("number", "name", "items", "extra")


def test_pickle_and_copy_past_the_frozen_guard() -> None:
    record = Frozen(1, extra=[2])
    assert pickle.loads(pickle.dumps(record)) == record
    assert copy.deepcopy(record) == record and copy.copy(record) == record
    assert pickle.loads(pickle.dumps(Mutable(2, {"a": 1}))) == Mutable(2, {"a": 1})


def test_what_records_do_not_support_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="non-default argument"):
        @dataclass
        class Misordered:
            a: int = 1
            b: int  # type: ignore[misc]
    with pytest.raises(TypeError, match="mutable default"):
        @dataclass
        class SharedDefault:
            a: list[int] = []  # noqa: RUF012
    with pytest.raises(TypeError, match="__post_init__"):
        @dataclass
        class PostInit:
            a: int

            def __post_init__(self) -> None:
                pass
    with pytest.raises(TypeError, match="generate __repr__"):
        @dataclass
        class OwnRepr:
            a: int

            def __repr__(self) -> str:
                return "mine"
    with pytest.raises(TypeError, match="do not inherit"):
        @dataclass
        class Child(Mutable):
            b: int = 0


def test_compiled_methods_are_kept_for_the_next_process(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second process finds the methods compiled by the first in the cache file and
    compiles nothing; an unreadable cache file only costs the compile."""
    path = tmp_path / "records.codes"
    monkeypatch.setattr(records, "_codes_path", lambda: str(path))
    monkeypatch.setattr(records, "_codes", None)
    monkeypatch.setattr(records, "_codes_changed", False)
    monkeypatch.setattr(records.atexit, "register", lambda *args: None)

    def define() -> type:
        @dataclass(frozen=True, slots=True)
        class Cached:
            number: int
            extra: list[int] = field(default_factory=list)
        return Cached

    assert define()(1).number == 1
    records._write_codes(str(path))  # what the exit handler does
    assert path.exists()
    compiled: list[str] = []
    real_compile = compile

    def counting_compile(source: str, label: str, mode: str) -> object:
        compiled.append(label)
        return real_compile(source, label, mode)
    monkeypatch.setattr(records, "compile", counting_compile, raising=False)
    monkeypatch.setattr(records, "_codes", None)  # as in a new process: read the file
    again = define()
    assert again(2, [3]) == again(2, [3]) and compiled == []
    path.write_bytes(b"not marshal data")
    monkeypatch.setattr(records, "_codes", None)
    assert define()(4).number == 4 and [c.rpartition(".")[2] for c in compiled] == ["Cached>"]
