"""Diagnostics through one channel: errors collected up to --error-limit, warnings in
LinkResult.warnings, --fatal-warnings, --warn-common, records, LTO inputs refused."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from linker import LinkError, link
from linker.errors import Diagnostic


def _as(tmp: Path, name: str, text: str, *flags: str) -> Path:
    src = tmp / f"{name}.s"
    src.write_text(text)
    obj = tmp / f"{name}.o"
    subprocess.run(["as", *flags, "-o", str(obj), str(src)], check=True, timeout=60)
    return obj


def _calls(n: int) -> str:
    return ".globl _start\n_start:\n" + "".join(f"  call missing{k}\n" for k in range(n))


def test_every_undefined_symbol_is_reported_each_as_a_record(tmp_path: Path) -> None:
    obj = _as(tmp_path, "u", _calls(3))
    with pytest.raises(LinkError) as e:
        link([obj], tmp_path / "out")
    lines = str(e.value).splitlines()
    assert len(lines) == 3 and all("(undefined symbol, referenced by" in x for x in lines)
    assert [d.symbol for d in e.value.diagnostics] == ["missing0", "missing1", "missing2"]
    d = e.value.diagnostics[0]
    assert isinstance(d, Diagnostic) and d.file == str(obj) and d.severity == "error"
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.rule = "x"  # type: ignore[misc]
    assert str(d) == lines[0]
    assert e.value.symbol == "missing0"  # the first error's fields, as before
    assert not (tmp_path / "out").exists()


def test_error_limit_stops_and_says_so(tmp_path: Path) -> None:
    obj = _as(tmp_path, "u", _calls(30))
    with pytest.raises(LinkError) as e:
        link([obj], tmp_path / "out")  # lld's default limit: 20
    assert len(e.value.diagnostics) == 21
    assert "too many errors emitted" in str(e.value).splitlines()[-1]
    with pytest.raises(LinkError) as e:
        link([obj], tmp_path / "out", error_limit=2)
    assert len(e.value.diagnostics) == 3
    with pytest.raises(LinkError) as e:
        link([obj], tmp_path / "out", error_limit=0)
    assert len(e.value.diagnostics) == 30


def test_every_relocation_overflow_is_reported(tmp_path: Path) -> None:
    obj = _as(tmp_path, "o", ".globl _start\n_start:\n  ret\n"
              "  .data\n  .byte far1\n  .byte far2\n  .word far3\n"
              "  .globl far1, far2, far3\n  .set far1, 0x1000\n  .set far2, 0x2000\n"
              "  .set far3, 0x30000\n")
    with pytest.raises(LinkError) as e:
        link([obj], tmp_path / "out")
    symbols = sorted(d.symbol or "" for d in e.value.diagnostics)
    assert symbols == ["far1", "far2", "far3"]
    assert all("does not fit in" in d.rule for d in e.value.diagnostics)
    assert not (tmp_path / "out").exists()


def test_warning_is_returned_and_fatal_warnings_fail_the_link(tmp_path: Path) -> None:
    obj = _as(tmp_path, "s", ".globl main\nmain: ret\n")
    result = link([obj], tmp_path / "out", entry="nowhere")
    assert [w.severity for w in result.warnings] == ["warning"]
    assert str(result.warnings[0]).startswith("cannot find entry symbol nowhere")
    (tmp_path / "out").unlink()
    with pytest.raises(LinkError, match="cannot find entry symbol nowhere"):
        link([obj], tmp_path / "out", entry="nowhere", fatal_warnings=True)
    assert not (tmp_path / "out").exists()


def test_warn_common(tmp_path: Path) -> None:
    start = _as(tmp_path, "start", ".globl _start\n_start: ret\n.comm shared, 4, 4\n")
    other = _as(tmp_path, "other", ".comm shared, 8, 8\n")
    defines = _as(tmp_path, "def", ".data\n.globl shared\nshared: .long 1\n")
    assert link([start, other], tmp_path / "a", warn_common=False).warnings == ()
    multiple = link([start, other], tmp_path / "b", warn_common=True).warnings
    assert [(w.symbol, w.file) for w in multiple] == [("shared", str(other))]
    assert "multiple common" in multiple[0].rule
    overridden = link([start, defines], tmp_path / "c", warn_common=True).warnings
    assert len(overridden) == 1 and "overrides the common" in overridden[0].rule
    for inputs in ([start, other], [start, defines], [defines, start]):
        with pytest.raises(LinkError, match="common"):
            link(inputs, tmp_path / "d", warn_common=True, fatal_warnings=True)
    assert not (tmp_path / "d").exists()


def test_cli_prints_each_error_on_its_own_line(tmp_path: Path) -> None:
    obj = _as(tmp_path, "u", _calls(4))
    run = subprocess.run([sys.executable, "-m", "linker", str(obj), "-o",
                          str(tmp_path / "out"), "--error-limit=2"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert len(lines) == 3 and all(x.startswith("linkharness: error: ") for x in lines)
    assert "missing0" in lines[0] and "missing1" in lines[1]


def test_gcc_lto_object_is_refused_with_advice(tmp_path: Path) -> None:
    (tmp_path / "f.c").write_text("int f(void) { return 1; }\n")
    obj = tmp_path / "f.o"
    subprocess.run(["gcc", "-flto", "-c", "-o", str(obj), str(tmp_path / "f.c")], check=True,
                   timeout=60)
    start = _as(tmp_path, "start", ".globl _start\n_start: call f\n")
    with pytest.raises(LinkError, match="-ffat-lto-objects") as e:
        link([start, obj], tmp_path / "out")
    assert e.value.file == str(obj)
    fat = tmp_path / "fat.o"
    subprocess.run(["gcc", "-flto", "-ffat-lto-objects", "-c", "-o", str(fat),
                    str(tmp_path / "f.c")], check=True, timeout=60)
    link([start, fat], tmp_path / "out")  # fat objects carry real code


def test_llvm_bitcode_is_refused_with_advice(tmp_path: Path) -> None:
    bitcode = tmp_path / "b.o"
    bitcode.write_bytes(b"BC\xc0\xde" + bytes(60))
    with pytest.raises(LinkError, match=r"LLVM bitcode .*build without -flto"):
        link([bitcode], tmp_path / "out")


def test_outside_a_link_the_first_error_is_raised_alone() -> None:
    from linker.errors import current
    with pytest.raises(LinkError) as e:
        current().error(Diagnostic("first", file="a.o"))
    assert str(e.value) == "a.o: first" and len(e.value.diagnostics) == 1
