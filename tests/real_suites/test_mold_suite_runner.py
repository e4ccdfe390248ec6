"""The mold-suite runner's own logic, on scripts of our own in the suite's shape: which
tests it picks for a machine, and how it tells a pass, a refusal, a silent wrong run, a
crash and a skip apart (the last two from what the script printed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "mold_suite", Path(__file__).resolve().parent / "mold_suite.py")
assert _spec and _spec.loader
mold_suite = importlib.util.module_from_spec(_spec)
sys.modules["mold_suite"] = mold_suite
_spec.loader.exec_module(mold_suite)


def test_select_tests_keeps_generic_and_own_arch(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("hello.sh", "arch-x86_64-plt.sh", "arch-aarch64-thunk.sh", "common.inc"):
        (flat / name).write_text("")
    assert [p.name for p in mold_suite.select_tests(flat, "x86_64")] == [
        "arch-x86_64-plt.sh", "hello.sh"]
    old = tmp_path / "old"
    (old / "elf").mkdir(parents=True)
    for name in ("hello-static.sh", "x86_64_plt.sh", "aarch64_thunk.sh", "arm_tlsdesc.sh"):
        (old / "elf" / name).write_text("")
    assert [p.name for p in mold_suite.select_tests(old, "x86_64")] == [
        "hello-static.sh", "x86_64_plt.sh"]


SCRIPTS = {
    # what the linker printed, and how the script ends
    "passes": ("", "echo OK"),
    "warns": ("echo 'linkharness: warning: -z foo ignored' >&2", "echo OK"),
    "refuses": ("echo 'linkharness: error: a.o: -z foo: not supported' >&2",
                "echo 'command failed: 3: cc -B. a.o'; exit 1"),
    "runs-wrong": ("", "echo 'command failed: 9: ./exe | grep ok'; exit 1"),
    "crashes": ("echo 'Traceback (most recent call last):' >&2", "exit 1"),
    "skips": ("", "echo skipped"),
}


@pytest.mark.parametrize("name,expected", [
    ("passes", "pass"), ("warns", "warned"), ("refuses", "refused"),
    ("runs-wrong", "wrong"), ("crashes", "crash"), ("skips", "skipped")])
def test_run_one_classifies_what_the_script_printed(tmp_path: Path, name: str,
                                                     expected: str) -> None:
    linker_said, ending = SCRIPTS[name]
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/bash\n{linker_said}\n{ending}\n")
    bindir = mold_suite.linker_dir(tmp_path, "fake", "/bin/true")
    outcome = mold_suite.run_one(script, "fake", "pie", bindir, tmp_path, 20.0, "x86_64")
    assert mold_suite.classify(outcome) == expected
    if expected == "refused":
        assert outcome.errors == ["linkharness: error: a.o: -z foo: not supported"]
        assert outcome.failed_command == "3: cc -B. a.o"


def test_run_one_gives_the_linker_as_ld_and_mold(tmp_path: Path) -> None:
    script = tmp_path / "which.sh"
    script.write_text("#!/bin/bash\n[ \"$(readlink ld)\" = /bin/true ] && "
                      "[ \"$(readlink mold)\" = /bin/true ] && echo \"$TEST_CC\" && echo OK\n")
    bindir = mold_suite.linker_dir(tmp_path, "fake", "/bin/true")
    outcome = mold_suite.run_one(script, "fake", "no-pie", bindir, tmp_path, 20.0, "x86_64")
    assert outcome.status == "pass"
    assert (tmp_path / "logs").exists() is False


def test_a_warning_gnu_ld_prints_too_is_no_fault(tmp_path: Path) -> None:
    bindir = mold_suite.linker_dir(tmp_path, "fake", "/bin/true")
    runs = {}
    for name, line in (("gnu", ("./ld: warning: cannot find entry symbol _start; defaulting "
                                "to 0000000000401000")),
                       ("lh", ("linkharness: warning: cannot find entry symbol _start; "
                              "defaulting to 0x401000"))):
        script = tmp_path / f"{name}.sh"
        script.write_text(f"#!/bin/bash\necho '{line}' >&2\necho OK\n")
        runs[name] = mold_suite.run_one(script, "fake", "pie", bindir, tmp_path, 20.0,
                                        "x86_64")
    assert mold_suite.classify(runs["lh"], runs["gnu"]) == "pass"
    assert mold_suite.classify(runs["lh"]) == "warned"
