"""The compiler-made hostile targets (fuzz/hostile/seeds_real.py): their seeds are the same
bytes from one build to the next (so a kept case's recipe means the same input), and they
carry what the targets are there for; GNU's legacy `.zdebug_*` form is refused in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fuzz.hostile.seeds import Targets
from fuzz.hostile.seeds_real import SOURCES, _compile_all
from linker import LinkError, link
from oracle.check import check
from oracle.emulate import run
from oracle.relocs import check_fields


def test_compiled_seeds_are_deterministic(tmp_path: Path, targets: Targets) -> None:
    again = _compile_all(tmp_path / "again")
    first = targets.links["gcc-object"]
    seeds = {s.name: s.data for s in first.seeds}
    assert seeds["c_parts.o"] == again["c_parts.o"].read_bytes()
    assert seeds["cxx_parts.o"] == again["cxx_parts.o"].read_bytes()


def _sections(path: Path) -> str:
    return subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_compiled_seeds_carry_what_the_generators_never_draw(targets: Targets) -> None:
    cxx = next(p for p in targets.links["gcc-object"].inputs if p.name == "cxx_parts.o")
    table = _sections(cxx)
    for needed in (" GROUP ", ".eh_frame", ".gcc_except_table", ".tbss", ".init_array",
                   ".note.gnu.property", ".rodata.str1", ".debug_rnglists"):
        assert needed in table, needed
    assert " C " in table.split(".debug_info")[1].splitlines()[0]  # -gz: SHF_COMPRESSED
    macho = targets.links["clang-macho-object"].seeds
    joined = b"".join(s.data for s in macho)
    for section in (b"__compact_unwind", b"__eh_frame", b"__mod_init_func", b"__cstring",
                    b"__thread_vars", b"__debug_info", b"__gcc_except_tab"):
        assert section in joined, section


def test_legacy_zdebug_is_refused_in_one_line(tmp_path: Path) -> None:
    obj = tmp_path / "c_parts.o"
    subprocess.run(["gcc", "-m32", "-fno-pie", "-DNO_ZLIB", "-O2", "-g", "-gz=zlib-gnu",
                    "-c", str(SOURCES / "c_parts.c"), "-o", str(obj)], check=True)
    with pytest.raises(LinkError) as caught:
        link([obj], tmp_path / "a.out", target="elf32-i386", entry="main",
             ignore_undefined=True)
    assert len(str(caught.value).splitlines()) == 1
    assert "c_parts.o: section .zdebug_" in str(caught.value)
    assert "-gz=zlib-gnu" in str(caught.value)
    assert not (tmp_path / "a.out").exists()


def test_allocated_section_of_a_reserved_type_is_refused(tmp_path: Path,
                                                         targets: Targets) -> None:
    """An allocated section whose sh_type is in the gABI's reserved range (a bit flip; in a
    COMDAT member, gcc32-object-002797) is refused naming it; c_parts.o (not compressed)
    is read by the bulk reader, which must hand it to the one-at-a-time reader's error."""
    target = targets.links["gcc-object"]
    seed = next(s for s in target.seeds if s.name == "c_parts.o")
    data = bytearray(seed.data)
    shoff, shnum = int.from_bytes(data[0x28:0x30], "little"), int.from_bytes(data[0x3C:0x3E],
                                                                             "little")
    flipped = None
    for i in range(1, shnum):
        at = shoff + 64 * i
        sh_type, sh_flags = (int.from_bytes(data[at + 4:at + 8], "little"),
                             int.from_bytes(data[at + 8:at + 16], "little"))
        if sh_type == 1 and sh_flags & 0x2:  # PROGBITS, ALLOC
            data[at + 7] = 0x04  # sh_type 0x04000001
            flipped = i
            break
    assert flipped is not None
    mutated = tmp_path / "in" / "c_parts.o"
    mutated.parent.mkdir()
    mutated.write_bytes(bytes(data))
    # with crti.o alone: the bulk reader leaves Scrt1.o, crtbeginS.o and the -gz object to
    # the other, and so the whole run of objects they are in
    crti = next(p for p in target.inputs if p.name == "crti.o")
    with pytest.raises(LinkError) as caught:
        link([crti, mutated], tmp_path / "a.out", entry="main", ignore_undefined=True)
    assert len(str(caught.value).splitlines()) == 1
    assert "c_parts.o: section " in str(caught.value)
    assert "allocated section of type 0x4000001" in str(caught.value)
    assert not (tmp_path / "a.out").exists()


@pytest.mark.parametrize("name", ["gcc-object", "gcc32-object", "clang-macho-object",
                                  "clang-macho32-object", "system-so", "system-archive",
                                  "clang-macho-archive", "gcc-shared-object",
                                  "gcc-static-object", "clang-fat-object"])
def test_valid_link_of_compiler_made_inputs_is_judged_correct(
        name: str, tmp_path: Path, targets: Targets) -> None:
    """The seed links the campaigns mutate: no violation, no field mismatch."""
    target = targets.links[name]
    out = tmp_path / "a.out"
    link(target.inputs, out, **target.options)
    assert check(out) == []
    assert list(check_fields(str(out), [str(p) for p in target.inputs if p.suffix == ".o"])) \
        == []


@pytest.mark.parametrize("name", ["gnu-ld-exe", "gnu-ld32-exe"])
def test_other_linkers_executables_run_as_natively(name: str, targets: Targets) -> None:
    """GNU ld's executables of the C unit: judged correct, and the emulator (with the host's
    libz.so.1) prints what the host's run prints."""
    target = targets.exes[name]
    assert check(target.exe) == []
    assert list(check_fields(str(target.exe), [str(p) for p in target.objects])) == []
    native = subprocess.run([str(target.exe)], capture_output=True, check=True,
                            env={"LD_LIBRARY_PATH": ":".join(map(str, target.library_path))})
    result = run(target.exe, library_path=list(target.library_path), timeout=10.0)
    assert result.exit_code == 0, result.faults
    assert result.stdout == native.stdout


def test_relocatable_link_of_compiler_made_objects_runs_as_the_objects_do(
        tmp_path: Path, targets: Targets) -> None:
    """gcc-relocatable's seed link: `-r` of the gcc-object units (COMDAT groups, .eh_frame,
    TLS, DWARF), linked by g++ as one object, prints what the two objects print (the
    checker and the field oracle judge executables, not ET_REL)."""
    target = targets.links["gcc-relocatable"]
    combined = tmp_path / "combined.o"
    link(target.inputs, combined, **target.options)
    outputs = []
    for name, objects in (("direct", target.inputs), ("combined", [combined])):
        subprocess.run(["g++", *map(str, objects), "-lz", "-o", str(tmp_path / name)],
                       check=True)
        outputs.append(subprocess.run([str(tmp_path / name)], capture_output=True,
                                      check=True).stdout)
    assert outputs[0] == outputs[1]
    assert b"made 7" in outputs[0]


def test_deep_layout_aims_inside_compiler_made_contents(targets: Targets) -> None:
    """fuzz/hostile/layout_deep.py finds the structures inside the real seeds (and only
    for them: the generator-made seeds keep the fields they always had)."""
    def fields(target: str, seed: str) -> str:
        link_target = targets.links[target]
        found = next(s for s in link_target.seeds if s.name == seed)
        assert found.deep
        return " ".join(f.what for f in found.layout.fields)

    cxx = fields("gcc-object", "cxx_parts.o")
    for part in ("group[", ".debug_info.ch_size", "eh_frame[", "note["):
        assert part in cxx, part
    assert "ver[" in fields("system-so", "libz.so.1")
    assert "gnu_hash.nbuckets" in fields("system-so", "libz.so.1")
    assert "cu[" in fields("clang-macho-object", "macho_parts_x86_64.o")
    archive = fields("clang-macho-archive", "libreal.a")
    assert "ranlib[" in archive and ".cu[" in archive
    assert "member@" in fields("system-archive", "libz-some.a")
    fat = fields("clang-fat-object", "macho_parts_fat.o")
    assert "fat_arch[1].offset" in fat and "slice[1].cu[" in fat
    generated = targets.links["elf64-object"].seeds[0]
    assert not generated.deep
    assert not any(f.what.startswith(("eh_frame[", "note[", "group[")) for f in
                   generated.layout.fields)
