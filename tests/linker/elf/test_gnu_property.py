"""linker/elf/gnu_property.py: the .note.gnu.property merge and the -z keywords that force
bits, compared byte for byte with GNU ld's note for the same objects."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker import link, shim_dir
from linker.elf.gnu_property import (
    X86_FEATURE_1_AND,
    X86_ISA_1_NEEDED,
    merge_properties,
    read_properties,
    render_note,
)

ISA_1_USED = 0xC0010002


def test_merge_rules() -> None:
    ibt_shstk = {X86_FEATURE_1_AND: 3, X86_ISA_1_NEEDED: 1, ISA_1_USED: 1}
    shstk = {X86_FEATURE_1_AND: 2, X86_ISA_1_NEEDED: 2, ISA_1_USED: 4}
    assert merge_properties([ibt_shstk, shstk], {}) == {
        X86_FEATURE_1_AND: 2, X86_ISA_1_NEEDED: 3, ISA_1_USED: 5}
    # an object without a note clears AND and OR-AND properties, not OR ones
    assert merge_properties([ibt_shstk, None], {}) == {X86_ISA_1_NEEDED: 1}
    assert merge_properties([None, None], {X86_FEATURE_1_AND: 1}) == {X86_FEATURE_1_AND: 1}
    assert merge_properties([None], {}) == {}


def test_render_and_read_round_trip() -> None:
    props = {X86_FEATURE_1_AND: 3, X86_ISA_1_NEEDED: 1}
    for word in (4, 8):
        note = render_note(props, word)
        assert len(note) % word == 0
        assert read_properties(note, word) == props


C_SOURCE = "int main(void) { return 0; }\n"
CF_FLAGS = {"none": (), "full": ("-fcf-protection=full",), "return": ("-fcf-protection=return",)}


def _note(path: Path) -> bytes | None:
    with open(path, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".note.gnu.property")
        return None if sec is None else sec.data()


def _objects(tmp: Path, kinds: tuple[str, ...], m32: bool) -> list[Path]:
    objs = []
    for n, kind in enumerate(kinds):
        src = tmp / f"o{n}.c"
        src.write_text(C_SOURCE if n == 0 else f"int f{n}(void) {{ return {n}; }}\n")
        obj = tmp / f"o{n}.o"
        subprocess.run(["gcc", *(["-m32"] if m32 else []), *CF_FLAGS[kind], "-c", str(src),
                        "-o", str(obj)], check=True)
        objs.append(obj)
    return objs


CASES = [
    (("full", "full"), ()), (("full", "return"), ()), (("full", "none"), ()),
    (("none", "none"), ("-z", "ibt")), (("none",), ("-z", "shstk", "-z", "ibt")),
    (("full",), ("-z", "x86-64-v2")), (("return", "full"), ("-z", "x86-64-v3")),
]


# every case on x86-64; on i386 those without an x86-64 ISA level
TARGET_CASES = [(k, z, False) for k, z in CASES] + [
    (k, z, True) for k, z in CASES if "x86-64" not in "".join(z) and k != ("full", "full")]


@pytest.mark.parametrize("kinds,zflags,m32", TARGET_CASES,
                         ids=[f"{'+'.join(k)}{''.join(z)}-{'i386' if m else 'x86_64'}"
                              for k, z, m in TARGET_CASES])
def test_final_link_note_is_gnu_lds(kinds: tuple[str, ...], zflags: tuple[str, ...],
                                     m32: bool, tmp_path: Path) -> None:
    objs = [str(o) for o in _objects(tmp_path, kinds, m32)]
    wl = [f"-Wl,{','.join(zflags)}"] if zflags else []
    m = ["-m32"] if m32 else []
    subprocess.run(["gcc", *m, *objs, *wl, "-o", str(tmp_path / "ref")], check=True)
    subprocess.run(["gcc", *m, f"-B{shim_dir()}", *objs, *wl, "-o",
                    str(tmp_path / "ours")], check=True)
    assert _note(tmp_path / "ours") == _note(tmp_path / "ref")
    with open(tmp_path / "ours", "rb") as f:
        elf = ELFFile(f)
        types = [s["p_type"] for s in elf.iter_segments()]
        if _note(tmp_path / "ref") is not None:
            prop = next(s for s in elf.iter_segments() if s["p_type"] == "PT_GNU_PROPERTY")
            sec = elf.get_section_by_name(".note.gnu.property")
            assert (prop["p_vaddr"], prop["p_filesz"]) == (sec["sh_addr"], sec["sh_size"])
        else:
            assert "PT_GNU_PROPERTY" not in types
    assert subprocess.run([str(tmp_path / "ours")], check=False).returncode == 0


@pytest.mark.parametrize("kinds", [("full", "return"), ("full", "full"), ("full", "none")])
def test_relocatable_note_is_gnu_lds(kinds: tuple[str, ...], tmp_path: Path) -> None:
    objs = _objects(tmp_path, kinds, False)
    subprocess.run(["ld", "-r", *map(str, objs), "-o", str(tmp_path / "ref.o")], check=True)
    link(objs, tmp_path / "ours.o", relocatable=True)
    assert _note(tmp_path / "ours.o") == _note(tmp_path / "ref.o")
