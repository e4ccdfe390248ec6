"""The link's files are written all or none (linker/output_files.py): a map that cannot be
written fails the link with one line and leaves no output; a destination that is a device
or FIFO is written in place, never replaced by a regular file."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from linker import LinkError, link

MAIN = "int main(void) { return 0; }\n"


@pytest.fixture
def main_object(tmp_path: Path) -> Path:
    (tmp_path / "m.c").write_text(MAIN)
    subprocess.run(["gcc", "-c", "-fno-pie", "-o", str(tmp_path / "m.o"),
                    str(tmp_path / "m.c")], check=True)
    return tmp_path / "m.o"


def _left(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("option", ["map_file", "text_map"])
def test_an_unwritable_map_fails_the_link_and_leaves_no_output(
        option: str, main_object: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(LinkError) as caught:
        if option == "map_file":
            link([main_object], out, entry="main", map_file=tmp_path / "missing" / "x.map")
        else:
            link([main_object], out, entry="main", text_map=tmp_path / "missing" / "x.map")
    assert str(caught.value) == (f"{tmp_path}/missing/x.map: cannot write map file: "
                                 "No such file or directory")
    assert _left(tmp_path) == ["m.c", "m.o"]


def test_an_output_that_is_a_directory_is_one_line(main_object: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(LinkError, match=r"d: cannot write output: Is a directory$"):
        link([main_object], tmp_path / "d", entry="main")
    assert _left(tmp_path) == ["d", "m.c", "m.o"] and _left(tmp_path / "d") == []


def test_a_fifo_destination_is_written_in_place(main_object: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(LinkError, match="pipe: cannot write output: No such device or address"):
        link([main_object], fifo, entry="main")  # no reader: an error, not a hang
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, open before the link
    try:
        link([main_object], fifo, entry="main")  # a small output: it fits the pipe's buffer
        data = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert data[:4] == b"\x7fELF"
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the FIFO, not a regular file
    assert _left(tmp_path) == ["m.c", "m.o", "pipe"]


def test_a_device_destination_is_not_replaced(main_object: Path, tmp_path: Path) -> None:
    """`-o /dev/null`: written to the device (renaming over it would swap the device node
    for a regular file).  A private node for the null device where this process may make
    one (so that a regression cannot break the machine's /dev/null); else /dev/null
    itself, which a process that cannot make nodes cannot replace either."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        device = Path("/dev/null")
    before = device.stat()
    link([main_object], device, entry="main", text_map=device)
    after = device.stat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino


def test_outputs_get_the_mode_a_plain_create_gives(main_object: Path, tmp_path: Path) -> None:
    """An executable 0777 and a -r object or a map 0666, under the umask (as GNU ld writes
    them): the private staging file's 0600 must not survive the rename."""
    mask = os.umask(0o022)
    try:
        link([main_object], tmp_path / "exe", entry="main", map_file=tmp_path / "exe.map")
        link([main_object], tmp_path / "r.o", relocatable=True)
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "exe").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "exe.map").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "r.o").stat().st_mode) == 0o644


@pytest.mark.parametrize("before", [None, b"the old output\n"])
def test_a_map_whose_rename_fails_takes_the_renamed_output_back(
        main_object: Path, tmp_path: Path, before: bytes | None) -> None:
    """Staging a map can succeed where renaming it fails (a name past the file system's
    NAME_MAX: the staged file has a short name of its own).  The output, renamed first,
    must be taken back: gone, or the file that was there before, unchanged."""
    out = tmp_path / "out"
    if before is not None:
        out.write_bytes(before)
    too_long = tmp_path / ("m" * 300)
    with pytest.raises(LinkError, match="cannot write map file: File name too long"):
        link([main_object], out, entry="main", text_map=too_long)
    expected = ["m.c", "m.o"] + (["out"] if before is not None else [])
    assert _left(tmp_path) == expected  # no staged file, no link to the old output
    if before is not None:
        assert out.read_bytes() == before


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink"])
def test_an_input_named_as_the_output_is_refused_and_kept(
        spelling: str, main_object: Path, tmp_path: Path) -> None:
    """GNU ld: "input file 'm.o' is the same as output file", however the path is spelt.
    Found by the outside hostile campaign: `-o` the input replaced the object with the
    executable made from it (and `-o` a symbolic link to it, the object behind it)."""
    before = main_object.read_bytes()
    out = {"same": main_object, "dot": tmp_path / "." / "m.o",
           "symlink": tmp_path / "link.o"}[spelling]
    if spelling == "symlink":
        out.symlink_to("m.o")
    with pytest.raises(LinkError) as caught:
        link([main_object], out, entry="main")
    assert str(caught.value) == f"{main_object}: input file is the same as output file"
    assert main_object.read_bytes() == before
    assert [p for p in _left(tmp_path) if p.startswith(".linkharness")] == []


@pytest.mark.parametrize("option", ["map_file", "text_map"])
def test_a_map_named_as_the_output_loses_to_the_output(
        option: str, main_object: Path, tmp_path: Path) -> None:
    """GNU ld and lld write the map first, so the output wins.  Found by the outside
    hostile campaign: the map was renamed into place after the output, and the link
    reported success with a text file where the executable should be."""
    out = tmp_path / "out"
    link([main_object], out, entry="main", **{option: tmp_path / "." / "out"})  # type: ignore[arg-type]
    assert out.read_bytes()[:4] == b"\x7fELF"
    assert _left(tmp_path) == ["m.c", "m.o", "out"]
