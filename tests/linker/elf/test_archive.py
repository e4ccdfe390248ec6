"""linker.elf.archive: members, long names, the symbol index, thin archives, damage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker.elf.archive import member_path, read_archive
from linker.errors import LinkError


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("ar")
    paths = []
    for name, body in [("a", "int fa(void){return 1;}"),
                       ("a_member_with_a_very_long_name", "int flong(void){return 2;} int dv;"),
                       ("c", "extern int fa(void); int fc(void){return fa();}")]:
        src = root / f"{name}.c"
        src.write_text(body)
        obj = root / f"{name}.o"
        subprocess.run(["gcc", "-c", "-fno-pie", "-o", obj, src], check=True)
        paths.append(obj)
    return paths


def _ar(flags: str, out: Path, objs: list[Path]) -> Path:
    subprocess.run(["ar", flags, str(out), *map(str, objs)], check=True, capture_output=True)
    return out


@pytest.mark.parametrize("flags", ["rcs", "rcS", "rcsT"], ids=["indexed", "no-index", "thin"])
def test_members_and_index(objects: list[Path], tmp_path: Path, flags: str) -> None:
    archive = read_archive(memoryview(_ar(flags, tmp_path / "lib.a", objects).read_bytes()),
                           str(tmp_path / "lib.a"))
    names = [Path(m.name).name for m in archive.members]  # thin: paths as given to ar
    assert names == ["a.o", "a_member_with_a_very_long_name.o", "c.o"]
    assert archive.index["fa"] == [0]
    assert archive.index["flong"] == [1] and archive.index["dv"] == [1]
    assert "fc" in archive.index and "undefined" not in archive.index
    assert all(bytes(m.data[:4]) == b"\x7fELF" for m in archive.members)
    assert member_path(archive, archive.members[2]).startswith(f"{tmp_path / 'lib.a'}(")


def test_truncated_member(objects: list[Path], tmp_path: Path) -> None:
    data = _ar("rcs", tmp_path / "lib.a", objects).read_bytes()
    with pytest.raises(LinkError, match="runs past end of file") as e:
        read_archive(memoryview(data[:-200]), "lib.a")
    assert str(e.value).startswith("lib.a: offset 0x")


def test_bad_member_size(objects: list[Path], tmp_path: Path) -> None:
    data = bytearray(_ar("rcS", tmp_path / "lib.a", objects).read_bytes())
    data[8 + 48:8 + 58] = b"12x4      "
    with pytest.raises(LinkError, match="bad archive member size"):
        read_archive(memoryview(bytes(data)), "lib.a")


def test_bad_header_terminator(objects: list[Path], tmp_path: Path) -> None:
    data = bytearray(_ar("rcS", tmp_path / "lib.a", objects).read_bytes())
    data[8 + 58:8 + 60] = b"xx"
    with pytest.raises(LinkError, match="no terminator"):
        read_archive(memoryview(bytes(data)), "lib.a")
