"""The checker's debug rules on Mach-O (issue 18, item 3): the debug map (MACHO-STAB-*), and
the leniency for a file-only `__DWARF` segment (vmsize 0, its sections outside every vm
range), as Go's linker writes compressed DWARF and dyld and the kernel accept it.

Each rule is silent on correct outputs (ours and ld64.lld's) and fires on one mutation of
the field it judges."""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from linker import link
from oracle.check import check
from oracle.check.macho.stabs import debug_map_units
from oracle.emulate import run
from oracle.emulate.macho import image as mi

LIBSYSTEM_TBD = Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"
MACHO_INCLUDE = Path(__file__).parents[3] / "macho_include"
TRIPLES = {"x86_64": "x86_64-apple-macosx10.9", "i386": "i386-apple-macosx10.6"}
MAIN = "int g = 3;\nstatic int s = 4;\nint f(int x) {\n    return x + s + g;\n}\n" \
       "int main(void) {\n    return f(1) - 8;\n}\n"
S_ATTR_DEBUG = 0x02000000


def _ids(path_or_data: Path | bytes) -> set[str]:
    return {v.rule for v in check(path_or_data)}


@pytest.fixture(scope="module", params=["x86_64", "i386"])
def debug_exe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[str, Path, Path]:
    """(arch, m.o, the executable) for a -g program, with room after its load commands."""
    arch = request.param
    root = tmp_path_factory.mktemp(f"stabs-{arch}")
    (root / "m.c").write_text(MAIN)
    subprocess.run(["clang-14", f"--target={TRIPLES[arch]}", "-nostdlibinc", "-isystem",
                    str(MACHO_INCLUDE), "-g", "-c", "m.c", "-o", "m.o"], check=True, cwd=root)
    exe = root / "exe"
    link([str(root / "m.o"), "-lSystem"], exe, target=f"macho-{arch}",
         platform_version=(0x000A0900 if arch == "x86_64" else 0x000A0600, 0x000B0000),
         macho_options={"headerpad": 0x400})
    return arch, root / "m.o", exe


def _stab_offsets(data: bytes) -> dict[tuple[int, str], int]:
    """(n_type, name) of each stab -> the file offset of its nlist entry."""
    img = mi.parse(data)
    assert img.symtab is not None
    size = 16 if img.is64 else 12
    return {(s.type, s.name): img.symtab[0] + s.index * size
            for s in img.symbols() if s.type & mi.N_STAB}


def _value_at(data: bytes, at: int) -> int:
    wide = mi.parse(data).is64
    return struct.unpack_from("<Q" if wide else "<I", data, at + 8)[0]


def _set_value(data: bytes, at: int, value: int) -> bytes:
    out = bytearray(data)
    wide = mi.parse(data).is64
    struct.pack_into("<Q" if wide else "<I", out, at + 8, value)
    return bytes(out)


def _set_byte(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + bytes([value]) + data[at + 1:]


def test_correct_maps_pass(debug_exe: tuple[str, Path, Path]) -> None:
    _, obj, exe = debug_exe
    assert check(exe) == []
    units = debug_map_units(mi.parse(exe.read_bytes()))
    assert [u.objects[0].name for u in units] == [str(obj)]


@pytest.mark.parametrize("debug_exe", ["x86_64"], indirect=True)  # ld64.lld-14: no i386
def test_ld64_lld_map_passes(debug_exe: tuple[str, Path, Path], tmp_path: Path) -> None:
    _, obj, _ = debug_exe
    ref = tmp_path / "ref"
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                    "11.0", "-o", str(ref), str(obj), str(LIBSYSTEM_TBD)], check=True)
    assert check(ref) == [] and debug_map_units(mi.parse(ref.read_bytes()))


@pytest.mark.parametrize("mutation, rule", [
    ("fun_address", "MACHO-STAB-FUN"),
    ("fun_other_section", "MACHO-STAB-FUN"),
    ("gsym_address", "MACHO-STAB-DATA"),
    ("stsym_outside", "MACHO-STAB-DATA"),
    ("no_oso", "MACHO-STAB-UNIT"),
    ("oso_mtime", "MACHO-STAB-OSO"),
    ("oso_not_object", "MACHO-STAB-OSO"),
    ("bnsym_address", "MACHO-STAB-UNIT"),
])
def test_each_stab_rule_fires(debug_exe: tuple[str, Path, Path], mutation: str,
                              rule: str) -> None:
    _, obj, exe = debug_exe
    data = exe.read_bytes()
    at = _stab_offsets(data)
    fun = at[(0x24, "_f")]
    img = mi.parse(data)
    if mutation == "fun_address":
        mutated = _set_value(data, fun, _value_at(data, fun) + 1)
    elif mutation == "fun_other_section":  # n_sect of a section that holds no code
        mutated = _set_byte(data, fun + 5, _section_number(img, code=False))
    elif mutation == "gsym_address":
        mutated = _set_value(data, at[(0x20, "_g")], _value_at(data, at[(0x20, "_g")]) + 4)
    elif mutation == "stsym_outside":
        mutated = _set_value(data, at[(0x26, "_s")], img.sections()[0].addr - 4)
    elif mutation == "no_oso":  # the entry becomes N_OPT, a stab dsymutil ignores
        mutated = _set_byte(data, at[(0x66, str(obj))] + 4, 0x3C)
    elif mutation == "oso_mtime":
        oso = at[(0x66, str(obj))]
        mutated = _set_value(data, oso, _value_at(data, oso) + 1)
    elif mutation == "oso_not_object":
        # the object's path turned into its C source's: a file, but no Mach-O object
        name = str(obj).encode()
        mutated = data.replace(name + b"\0", name[:-1] + b"c\0")
    else:  # N_BNSYM at another address than its N_FUN
        bnsym = fun - (16 if img.is64 else 12)
        mutated = _set_value(data, bnsym, _value_at(data, bnsym) + 2)
    assert rule in _ids(mutated), mutation


def _section_number(img: mi.MachOImage, *, code: bool) -> int:
    """The n_sect of a section other than __text that holds code (or holds none)."""
    return next(k for k, s in enumerate(img.sections(), 1)
                if s.name != "__TEXT,__text" and bool(s.flags & 0x80000400) == code)


@pytest.mark.parametrize("debug_exe", ["i386"], indirect=True)  # (x86_64's has one code section)
def test_a_function_stab_naming_another_code_section_only_warns(
        debug_exe: tuple[str, Path, Path]) -> None:
    """Xcode 5's ld64 wrote __text's number in the N_FUN of functions gcc put in
    __text_startup (libgcc_s and libgfortran in numpy's and scipy's wheels): dsymutil
    reads only the address, so the checker warns and `linkharness check` passes."""
    _, _, exe = debug_exe
    data = exe.read_bytes()
    fun = _stab_offsets(data)[(0x24, "_f")]
    mutated = _set_byte(data, fun + 5, _section_number(mi.parse(data), code=True))
    found = check(mutated)
    assert [(v.rule, v.severity) for v in found] == [("MACHO-STAB-FUN-SECT", "warning")]
    assert "is in __TEXT,__text" in found[0].what


def _with_file_only_dwarf(data: bytes, initprot: int = 0) -> bytes:
    """`data` plus a Go-style `__DWARF` segment: vmsize 0, page-aligned file bytes after
    the rest, two `__zdebug_*` sections ("ZLIB", big-endian size, zlib stream) whose
    addresses continue past the image, outside every vm range."""
    out = bytearray(data)
    img = mi.parse(data)
    wide = img.is64
    top = max(s.vmaddr + s.vmsize for s in img.segments)
    fileoff = (len(out) + 0xFFF) & -0x1000
    out.extend(bytes(fileoff - len(out)))
    body, sections = bytearray(), []
    for name, size in ((b"__zdebug_abbrev", 64), (b"__zdebug_info", 100)):
        blob = b"ZLIB" + struct.pack(">Q", size) + zlib.compress(bytes(size))
        sections.append((name, top + len(body), len(blob), fileoff + len(body)))
        body += blob + bytes(-len(blob) % 8)
    seg_size, sect_size = (72, 80) if wide else (56, 68)
    cmd = struct.pack("<II16s" + ("QQQQ" if wide else "IIII") + "iiII",
                      mi.LC_SEGMENT_64 if wide else mi.LC_SEGMENT,
                      seg_size + sect_size * len(sections), b"__DWARF", top, 0, fileoff,
                      len(body), 0, initprot, len(sections), 0)
    for name, addr, size, offset in sections:
        fields = (name, b"__DWARF", addr, size, offset, 0, 0, 0, S_ATTR_DEBUG, 0, 0)
        cmd += struct.pack("<16s16sQQIIIIIIII", *fields, 0) if wide else \
            struct.pack("<16s16sIIIIIIIII", *fields)
    end = img.header_size + img.sizeofcmds
    assert not any(out[end:end + len(cmd)]), "no room after the load commands"
    out[end:end + len(cmd)] = cmd
    struct.pack_into("<II", out, 16, img.ncmds + 1, img.sizeofcmds + len(cmd))
    return bytes(out + body)


def test_file_only_dwarf_segment_is_accepted(debug_exe: tuple[str, Path, Path],
                                             tmp_path: Path) -> None:
    """The kernel and dyld load it (the emulated dyld runs it too): no violation."""
    _, _, exe = debug_exe
    data = _with_file_only_dwarf(exe.read_bytes())
    img = mi.parse(data)
    dwarf = img.segment_named("__DWARF")
    assert dwarf is not None and dwarf.vmsize == 0 and dwarf.filesize
    assert all(img.segment_at(s.addr) is None for s in dwarf.sections)
    assert check(data) == []
    path = tmp_path / "go-style"
    path.write_bytes(data)
    os.chmod(path, 0o755)
    assert run(str(path)).exit_code == 0


def test_file_only_dwarf_segment_still_judged(debug_exe: tuple[str, Path, Path]) -> None:
    """Leniency, not blindness: an accessible vmsize-0 segment (today's dyld refuses it),
    a section outside the segment's file bytes, and filesize > vmsize in a mapped segment
    are still reported."""
    _, _, exe = debug_exe
    assert "MACHO-SEG-FILE" in _ids(_with_file_only_dwarf(exe.read_bytes(), initprot=1))
    data = bytearray(_with_file_only_dwarf(exe.read_bytes()))
    img = mi.parse(bytes(data))
    dwarf = img.segment_named("__DWARF")
    assert dwarf is not None
    # the first section's offset moved past the segment's file bytes
    name_at = bytes(data).index(b"__zdebug_abbrev")
    wide = img.is64
    offset_at = name_at + (48 if wide else 40)
    struct.pack_into("<I", data, offset_at, dwarf.fileoff + dwarf.filesize)
    assert "MACHO-SECT-IN-SEG" in _ids(bytes(data))


def test_an_oso_naming_a_pipe_is_not_opened(debug_exe: tuple[str, Path, Path]) -> None:
    """A hostile file's N_OSO may name a FIFO or a device: the rule must not block on it
    (it judges regular files only)."""
    import signal
    _, obj, exe = debug_exe
    fifo = obj.with_name("p.o")  # the same length as m.o's path
    if not fifo.exists():
        os.mkfifo(fifo)
    data = exe.read_bytes().replace(str(obj).encode() + b"\0", str(fifo).encode() + b"\0")
    assert str(fifo).encode() in data
    signal.alarm(20)  # a blocked open() fails the test instead of hanging the suite
    try:
        assert "MACHO-STAB-OSO" not in _ids(data)
    finally:
        signal.alarm(0)
