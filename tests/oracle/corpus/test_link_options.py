"""A case's output options (pie, hash_style, ibt_plt, emit_relocs): optional in case.json,
round-trip, reach every linker's command line (or make its replay n/a), and leave every
case without them linking exactly as before."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from oracle.corpus import LinkArgs, add_case, find_cases, load_case, replay_case
from oracle.corpus.model import CaseFormatError, parse_link_args
from oracle.corpus.replay import NOT_APPLICABLE
from oracle.corpus.toolchain import reference_command, unsupported_options

OLD_KEYS = {"entry", "libs", "crt", "bind_now", "dynamic_linker"}
ALL_SET = {"entry": "_start", "pie": True, "hash_style": "gnu", "ibt_plt": True,
           "emit_relocs": True}


def _case(tmp_path: Path, objects: dict[str, Path], link_args: dict[str, Any],
          target: str = "elf64-x86-64") -> Path:
    return add_case(tmp_path / "corpus", [objects["main"], objects["helper"]], link_args,
                    {"exit_code": 42}, "test", "test", case_id="c", bind=["lazy"],
                    target=target)


def test_options_parse_and_round_trip() -> None:
    args = parse_link_args(ALL_SET)
    assert (args.pie, args.hash_style, args.ibt_plt, args.emit_relocs) == (True, "gnu", True,
                                                                          True)
    assert parse_link_args(args.to_json()) == args


def test_a_case_without_them_means_the_old_link_and_is_written_as_before() -> None:
    old = parse_link_args({"entry": "_start", "libs": [], "bind_now": True})
    assert (old.pie, old.hash_style, old.ibt_plt, old.emit_relocs) == (False, None, False,
                                                                      False)
    assert set(old.to_json()) == OLD_KEYS
    assert set(LinkArgs(pie=True).to_json()) == OLD_KEYS | {"pie"}


@pytest.mark.parametrize(("key", "value"), [("hash_style", "fast"), ("pie", 1),
                                            ("ibt_plt", "yes"), ("emit_relocs", None)])
def test_a_malformed_option_is_refused_by_name(key: str, value: Any) -> None:
    with pytest.raises(CaseFormatError, match=key):
        parse_link_args({key: value})


def test_every_committed_case_still_links_as_before(tmp_path: Path) -> None:
    cases = [load_case(d) for d in find_cases()]
    assert cases
    for case in cases:
        raw = json.loads((case.directory / "case.json").read_text())["link_args"]
        assert not set(raw) - OLD_KEYS, case.id
        assert case.link_args.output_options() == {}
        for linker in ("bfd", "gold", "lld", "mold"):
            assert unsupported_options(linker, case) == []
            cmd = reference_command(linker, case, tmp_path / "out")
            assert not {"-pie", "--emit-relocs", "ibtplt", "force-ibt"} & set(cmd), case.id
            assert not [flag for flag in cmd if flag.startswith("--hash-style")], case.id


@pytest.mark.parametrize(("linker", "ibt_flag"), [("bfd", "ibtplt"), ("mold", "ibtplt"),
                                                  ("lld", "force-ibt")])
def test_reference_linkers_get_the_flags(objects: dict[str, Path], tmp_path: Path,
                                         linker: str, ibt_flag: str) -> None:
    case = load_case(_case(tmp_path, objects, ALL_SET))
    cmd = reference_command(linker, case, tmp_path / "out")
    assert {"-pie", "--hash-style=gnu", "--emit-relocs"} <= set(cmd)
    assert cmd[cmd.index(ibt_flag) - 1] == "-z"
    # a PIE needs this system's ld.so even when nothing is linked dynamically
    assert cmd[cmd.index("-dynamic-linker") + 1] == "/lib64/ld-linux-x86-64.so.2"


def test_a_linker_without_the_option_is_not_applicable(objects: dict[str, Path],
                                                       tmp_path: Path) -> None:
    case = load_case(_case(tmp_path, objects, {"entry": "_start", "ibt_plt": True}))
    result = replay_case(case, "gold", tmp_path / "work", judges=["native"])
    assert result.status == NOT_APPLICABLE, result
    assert any("ibt_plt" in note for note in result.notes), result.notes
    macho = load_case(add_case(tmp_path / "m", [objects["main"]],
                               {"entry": "_start", "emit_relocs": True}, {"exit_code": 0},
                               "t", "t", case_id="m", target="macho-x86_64"))
    assert unsupported_options("ld64.lld", macho) == ["emit_relocs"]


def _sections(exe: Path) -> str:
    return subprocess.run(["readelf", "-hS", "-W", str(exe)], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("linker", ["linkharness", "bfd"])
def test_replay_honours_pie_and_emit_relocs(objects: dict[str, Path], tmp_path: Path,
                                            linker: str) -> None:
    case = load_case(_case(tmp_path, objects, {"entry": "_start", "pie": True,
                                               "emit_relocs": True, "hash_style": "sysv"}))
    result = replay_case(case, linker, tmp_path / "work", judges=["native"])
    assert result.passed, result.details
    sections = _sections(tmp_path / "work" / f"c.{linker}.out")
    assert "DYN (" in sections  # -pie: a position-independent executable
    assert ".rela.text" in sections  # --emit-relocs kept the input relocations
    assert " .hash " in sections and ".gnu.hash" not in sections
