"""Names that are not regular files: a FIFO no one writes, an endless device, a directory.

A plain `open()` waits on a FIFO for a writer and /dev/zero never ends, so each of these
once hung the linker, `linkharness check` or `linkharness run`.  Every one must give one
line and exit 1 (the linker, the checker) or 2 (the runner, which reserves 1 for the
guest), quickly, with no output file; and a pipe that does carry an object (a shell's
`<(...)`) must still link.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HELLO = "int main(void) { return 7; }\n"
ENDLESS_DEVICE = "/dev/zero"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found is not None, name
    return found


@pytest.fixture
def main_object(tmp_path: Path) -> Path:
    (tmp_path / "m.c").write_text(HELLO)
    subprocess.run(["gcc", "-c", "-fno-pie", "-o", str(tmp_path / "m.o"),
                    str(tmp_path / "m.c")], check=True)
    return tmp_path / "m.o"


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "unwritten.o"
    os.mkfifo(path)
    return path


def _one_line_failure(argv: list[str], status: int, expected: str) -> None:
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == status, done
    # the checker reports on stdout, as it reports violations; the others on stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_the_linker_refuses_what_it_cannot_read_as_a_file(
        kind: str, fifo: Path, main_object: Path, tmp_path: Path) -> None:
    bad = {"fifo": str(fifo), "device": ENDLESS_DEVICE, "directory": str(tmp_path)}[kind]
    expected = {"fifo": "file format not recognized",  # no writer: it reads as empty
                "device": "not a regular file and gives more than",
                "directory": "Is a directory"}[kind]
    out = tmp_path / "out"
    _one_line_failure([_tool("linkharness"), "link", "-o", str(out), str(main_object), bad],
                      1, f"{bad}: ")
    _one_line_failure([_tool("linkharness"), "link", "-o", str(out), str(main_object), bad],
                      1, expected)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.c", "m.o", "unwritten.o"]


def test_the_mach_o_linker_refuses_a_fifo(fifo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _one_line_failure([_tool("linkharness"), "link", "--target", "macho-x86_64", "-o",
                       str(out), str(fifo)], 1, "file format not recognized")
    assert not out.exists()


def test_a_pipe_that_carries_an_object_links(main_object: Path, tmp_path: Path) -> None:
    """What `<(cat m.o)` gives the linker: /dev/fd/N, a pipe with a writer."""
    out = tmp_path / "out"
    read_end, write_end = os.pipe()
    writer = subprocess.Popen(["cat", str(main_object)], stdout=write_end)
    os.close(write_end)
    try:
        done = subprocess.run(
            [_tool("linkharness"), "link", "-e", "main", "-o", str(out), f"/dev/fd/{read_end}"],
            check=False, capture_output=True, text=True, timeout=60, pass_fds=(read_end,))
    finally:
        os.close(read_end)
        writer.wait(timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:4] == b"\x7fELF"


@pytest.mark.parametrize("command, status", [("check", 1), ("run", 2)])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_the_checker_and_the_runner_refuse_a_file_that_is_not_regular(
        command: str, status: int, kind: str, fifo: Path) -> None:
    bad = str(fifo) if kind == "fifo" else ENDLESS_DEVICE
    _one_line_failure([_tool("linkharness"), command, bad], status,
                      "not a regular file (a FIFO, device or socket)")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_the_python_judges_answer_rather_than_wait(kind: str, fifo: Path) -> None:
    """`oracle.run` gives a load fault and `oracle.check_fields` an `unreadable` mismatch;
    `oracle.check` raises OSError, as its contract says of any unreadable path."""
    import oracle

    bad = str(fifo) if kind == "fifo" else ENDLESS_DEVICE
    (fault,) = oracle.run(bad).faults
    assert fault.kind == "load" and "not a regular file" in fault.message
    (mismatch,) = oracle.check_fields(bad, [])
    assert mismatch.kind == "unreadable" and "not a regular file" in mismatch.detail
    with pytest.raises(OSError, match="not a regular file"):
        oracle.check(bad)


EXIT_7 = ".globl _start\n_start:\n  mov $60, %eax\n  mov $7, %edi\n  syscall\n"


def test_file_names_that_are_not_utf8_pass_through(tmp_path: Path) -> None:
    """Names are bytes on Linux: one that is not UTF-8 reaches the linker, the checker and
    the runner (as argv[0] too) unchanged.  `run` raised UnicodeEncodeError on one."""
    source = tmp_path / "exit.s"
    source.write_text(EXIT_7)
    obj = os.fsdecode(bytes(tmp_path) + b"/in\xff.o")
    exe = os.fsdecode(bytes(tmp_path) + b"/out\xfe")
    subprocess.run(["as", "--64", "-o", obj, str(source)], check=True)
    subprocess.run([_tool("linkharness"), "link", "-o", exe, obj], check=True)
    checked = subprocess.run([_tool("linkharness"), "check", exe], check=False,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    ran = subprocess.run([_tool("linkharness"), "run", exe, "--", os.fsdecode(b"arg\xfd")],
                         check=False, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 7 and ran.stderr == "", ran.stderr
