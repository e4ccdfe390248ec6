"""case.json parsing: a well-formed case round-trips; every malformation names its key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from oracle.corpus import CaseFormatError, Expect, LinkArgs, TraceCall
from oracle.corpus.model import parse_case, parse_expect

GOOD: dict[str, Any] = {
    "id": "a-case",
    "target": "elf64-x86-64",
    "inputs": ["main.o", "lib/helper.o"],
    "link_args": {"entry": "_start", "libs": ["-lc"], "crt": True},
    "expect": {"exit_code": 3, "stdout": "hi\n",
               "trace": [{"library": "libtrace1.so", "symbol": "f_a1", "args": [7]}],
               "link_error": None},
    "origin": "compiler: gcc",
    "caught": "nothing yet",
    "bind": ["now"],
}


def test_a_good_case_parses_and_round_trips() -> None:
    case = parse_case(GOOD, Path("/c"))
    assert case.link_args == LinkArgs(entry="_start", libs=("-lc",), crt=True)
    assert case.expect.trace == (TraceCall("libtrace1.so", "f_a1", (7,)),)
    assert case.input_paths() == [Path("/c/main.o"), Path("/c/lib/helper.o")]
    assert case.bind == ("now",)
    assert parse_case(case.to_json(), Path("/c")) == case


def test_defaults_fill_optional_keys() -> None:
    data = copy.deepcopy(GOOD)
    del data["bind"]
    data["link_args"] = {}
    data["expect"] = {"exit_code": 0}
    case = parse_case(data, Path("/c"))
    assert case.bind == ("lazy", "now")
    assert case.link_args == LinkArgs()
    assert case.expect == Expect(exit_code=0, stdout="", trace=None, link_error=None)


def _broken(path: list[str], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    (["target"], "pdp11", "unknown target"),
    (["id"], "../escape", "case id"),
    (["inputs"], ["/etc/passwd"], "inside the case"),
    (["inputs"], ["../x.o"], "inside the case"),
    (["origin"], KeyError, "missing key 'origin'"),
    (["colour"], "blue", "unknown key"),
    (["link_args", "crt"], "yes", "'crt' must be bool"),
    (["link_args", "libz"], [], "unknown key"),
    (["expect", "exit_code"], True, "'exit_code' must be int"),
    (["expect", "exit_code"], 300, "0..255"),
    (["expect", "link_error"], "([", "not a regex"),
    (["expect", "trace"], [{"library": "l", "symbol": "s", "args": ["1"]}], "integers"),
    (["bind"], ["eager"], "'bind'"),
])
def test_malformed_cases_are_refused_by_key(path: list[str], value: Any, message: str) -> None:
    with pytest.raises(CaseFormatError, match=message):
        parse_case(_broken(path, value), Path("/c"))


def test_an_expectation_needs_an_exit_code_or_a_link_error() -> None:
    with pytest.raises(CaseFormatError, match="exit_code"):
        parse_expect({"exit_code": None})
    assert parse_expect({"link_error": "undefined"}).is_error_case


def test_an_expectation_can_be_taken_from_a_run_result() -> None:
    from oracle.emulate.result import TraceEntry

    run_trace = [TraceEntry("libtrace2.so", "lt2_f1_a1", (9,))]
    expect = parse_expect({"exit_code": 5, "stdout": b"out\n", "trace": run_trace})
    assert expect == Expect(5, "out\n", (TraceCall("libtrace2.so", "lt2_f1_a1", (9,)),))
