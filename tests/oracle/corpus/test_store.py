"""add_case / load_case / find_cases: cases land self-contained, whole, and only once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle.corpus import CaseFormatError, add_case, find_cases, load_case


def test_add_copies_objects_and_writes_a_loadable_case(objects: dict[str, Path], tmp_path: Path) -> None:
    main_s = objects["main.s"].read_text()
    path = add_case(tmp_path, [objects["main"], objects["helper"]], {"entry": "_start"},
                    {"exit_code": 42}, "assembly: test", "nothing", asm_text=main_s,
                    case_id="tiny")
    assert path == tmp_path / "tiny"
    assert (path / "main.o").read_bytes() == objects["main"].read_bytes()
    assert (path / "case.s").read_text() == main_s
    case = load_case(path)
    assert case.inputs == ("main.o", "helper.o")  # link order kept
    assert case.sources == ("case.s",)
    assert case.expect.exit_code == 42
    assert json.loads((path / "case.json").read_text())["origin"] == "assembly: test"


def test_objects_may_be_given_as_bytes(tmp_path: Path) -> None:
    path = add_case(tmp_path, {"a.o": b"\x7fELF-a", "b.o": b"\x7fELF-b"}, {}, {"exit_code": 0},
                    "fuzz: seed 1", "the PLT0 bug")
    assert (path / "b.o").read_bytes() == b"\x7fELF-b"
    assert load_case(path).inputs == ("a.o", "b.o")


def test_derived_ids_are_stable_and_adding_twice_is_refused(tmp_path: Path) -> None:
    objs = {"a.o": b"one"}
    first = add_case(tmp_path, objs, {}, {"exit_code": 0}, "fuzz", "PLT0 pushes GOT+16!")
    assert first.name.startswith("plt0-pushes-got-16-")
    with pytest.raises(FileExistsError):
        add_case(tmp_path, objs, {}, {"exit_code": 0}, "fuzz", "PLT0 pushes GOT+16!")
    other = add_case(tmp_path, {"a.o": b"two"}, {}, {"exit_code": 0}, "fuzz",
                     "PLT0 pushes GOT+16!")
    assert other != first
    assert find_cases(tmp_path) == sorted([first, other])


def test_overwrite_replaces_a_case(tmp_path: Path) -> None:
    add_case(tmp_path, {"a.o": b"old"}, {}, {"exit_code": 1}, "o", "c", case_id="x")
    add_case(tmp_path, {"a.o": b"new"}, {}, {"exit_code": 2}, "o", "c", case_id="x",
             overwrite=True)
    assert load_case(tmp_path / "x").expect.exit_code == 2
    assert (tmp_path / "x" / "a.o").read_bytes() == b"new"


@pytest.mark.parametrize(("objects", "expect", "message"), [
    ({}, {"exit_code": 0}, "at least one input"),
    ({"case.json": b""}, {"exit_code": 0}, "distinct plain names"),
    ({"a.o": b""}, {"exit_code": "0"}, "must be int"),
])
def test_bad_arguments_leave_nothing_behind(tmp_path: Path, objects: dict[str, bytes],
                                            expect: dict[str, object], message: str) -> None:
    with pytest.raises(CaseFormatError, match=message):
        add_case(tmp_path, objects, {}, expect, "o", "c")
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_missing_inputs_and_bad_json(tmp_path: Path) -> None:
    path = add_case(tmp_path, {"a.o": b"x"}, {}, {"exit_code": 0}, "o", "c", case_id="gone")
    (path / "a.o").unlink()
    with pytest.raises(CaseFormatError, match="does not exist"):
        load_case(path)
    (path / "case.json").write_text("{not json")
    with pytest.raises(CaseFormatError, match="not JSON"):
        load_case(path)
    with pytest.raises(CaseFormatError, match="no case.json"):
        load_case(tmp_path / "nowhere")


def test_find_cases_accepts_a_case_directory_itself(tmp_path: Path) -> None:
    path = add_case(tmp_path, {"a.o": b"x"}, {}, {"exit_code": 0}, "o", "c", case_id="one")
    assert find_cases(path) == [path]
