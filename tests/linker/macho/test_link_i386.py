"""macho-i386 links: the MH_EXECUTE structure in both modes, read back independently, and
the programs run under the emulated i386 dyld.

There is no reference linker for Mach-O i386 here (ld64.lld-14 refuses -arch i386), so the
structure is checked against <mach-o/loader.h> facts directly, and behaviour by the oracle
(its structural checker and its emulated dyld, lazily and with every binding at load).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from linker import LinkError, link
from linker.cli import ld64_shim
from linker.macho.crt import START, start_object
from linker.macho.write import load_commands_size
from linker.targets import I386
from oracle import run
from oracle.check import check

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
extern int ext_data;
static int counter = 5;
int table[4] = {1, 2, 3, 4};
int *ptr = &table[2];
int (*fp)(const char *) = puts;
const char *names[] = {"zero", "one"};
int common_thing;
__attribute__((weak)) int weak_value = 9;
static int helper(int x) { return x * 3 + counter; }
int main(int argc, char **argv) {
    common_thing = helper(argc);
    printf("hello %d %s %d\n", counter + *ptr, names[argc & 1], ext_data);
    fp("via pointer");
    fprintf(stdout, "x %d\n", weak_value);
    return common_thing;
}
"""
OTHER = "int ext_data = 77;\n"
EXPECTED = b"hello 8 one 77\nvia pointer\nx 9\n"
MODES: dict[str, dict[str, Any]] = {  # name -> link options
    "modern-10.6": {"platform_version": (0x000A0600, 0x000A0600)},  # LC_UNIXTHREAD + start
    "modern-10.9": {"platform_version": (0x000A0900, 0x000B0000)},  # LC_MAIN
    "classic": {"macho_classic": True},
}
LC_SEGMENT, LC_SYMTAB, LC_DYSYMTAB, LC_UNIXTHREAD = 0x1, 0x2, 0xB, 0x5
LC_DYLD_INFO_ONLY, LC_MAIN = 0x80000022, 0x80000028
MH_PIE = 0x200000


@dataclass
class Section:
    segname: str
    name: str
    addr: int
    size: int
    offset: int
    flags: int
    reserved1: int
    reserved2: int


@dataclass
class Image:
    data: bytes
    header: tuple[int, ...]
    commands: list[tuple[int, int, int]]  # (cmd, cmdsize, offset)
    segments: dict[str, tuple[int, int, int, int]]  # name -> vmaddr, vmsize, fileoff, filesize
    sections: dict[str, Section]
    symbols: dict[str, int]
    indirect: list[int]
    names: list[str]

    def at(self, addr: int, size: int) -> bytes:
        for s in self.sections.values():
            if s.addr <= addr < s.addr + s.size:
                return self.data[s.offset + addr - s.addr:s.offset + addr - s.addr + size]
        raise AssertionError(hex(addr))


def parse(path: Path) -> Image:
    """An i386 MH_EXECUTE read with struct alone (no linker code)."""
    data = path.read_bytes()
    header = struct.unpack_from("<7I", data, 0)
    pos, commands, segments, sections = 28, [], {}, {}
    symtab = dysymtab = None
    for _ in range(header[4]):
        cmd, size = struct.unpack_from("<II", data, pos)
        commands.append((cmd, size, pos))
        if cmd == LC_SEGMENT:
            name = data[pos + 8:pos + 24].rstrip(b"\0").decode()
            vmaddr, vmsize, fileoff, filesize = struct.unpack_from("<4I", data, pos + 24)
            segments[name] = (vmaddr, vmsize, fileoff, filesize)
            for n in range(struct.unpack_from("<I", data, pos + 48)[0]):
                f = struct.unpack_from("<16s16s9I", data, pos + 56 + 68 * n)
                sect, seg = (x.rstrip(b"\0").decode() for x in f[:2])
                sections[f"{seg},{sect}"] = Section(seg, sect, f[2], f[3], f[4], f[8], f[9],
                                                    f[10])
        elif cmd == LC_SYMTAB:
            symtab = struct.unpack_from("<4I", data, pos + 8)
        elif cmd == LC_DYSYMTAB:
            dysymtab = struct.unpack_from("<18I", data, pos + 8)
        pos += size
    assert symtab is not None and dysymtab is not None
    symoff, nsyms, stroff, _ = symtab
    names, symbols = [], {}
    for n in range(nsyms):
        strx, ntype, _sect, _desc, value = struct.unpack_from("<IBBHI", data, symoff + 12 * n)
        name = data[stroff + strx:data.index(b"\0", stroff + strx)].decode()
        names.append(name)
        if ntype & 0xE == 0xE:
            symbols[name] = value
    indoff, nind = dysymtab[12], dysymtab[13]
    indirect = list(struct.unpack_from(f"<{nind}I", data, indoff)) if nind else []
    return Image(data, header, commands, segments, sections, symbols, indirect, names)


@pytest.fixture(scope="module")
def objects(macho32_cc: Callable[..., Path]) -> list[Path]:
    return [macho32_cc(PROGRAM, "program", "-O1", "-fcommon"), macho32_cc(OTHER, "other")]


@pytest.fixture(scope="module")
def outputs(objects: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("i386-links")
    out = {}
    for mode, options in MODES.items():
        out[mode] = root / mode
        link([*objects, "-lSystem"], out[mode], target="macho-i386", **options)
    return out


@pytest.mark.parametrize("mode", MODES)
def test_header_and_segments(outputs: dict[str, Path], mode: str) -> None:
    img = parse(outputs[mode])
    magic, cputype, subtype, filetype, ncmds, sizeofcmds, flags = img.header
    assert (magic, cputype, subtype, filetype) == (0xFEEDFACE, 7, 3, 2)
    assert sizeofcmds == sum(c[1] for c in img.commands) and ncmds == len(img.commands)
    assert all(c[1] % 4 == 0 for c in img.commands)
    assert img.segments["__PAGEZERO"][:2] == (0, 0x1000)
    assert img.segments["__TEXT"][0] == 0x1000 and img.segments["__TEXT"][2] == 0
    first = min(s.offset for s in img.sections.values() if s.offset)
    assert 28 + sizeofcmds <= first
    # i386 stubs hold absolute addresses in __TEXT: the image is never slid.
    assert not flags & MH_PIE
    assert (LC_DYLD_INFO_ONLY in [c[0] for c in img.commands]) == (mode != "classic")


@pytest.mark.parametrize("mode", MODES)
def test_load_commands_size_predicts_the_bytes_written(outputs: dict[str, Path],
                                                       mode: str) -> None:
    """The size layout reserves for the load commands before it knows addresses is exactly
    what the writer then writes (68-byte sections, the 80-byte i386 LC_UNIXTHREAD)."""
    img = parse(outputs[mode])
    nsects = [sum(1 for s in img.sections.values() if s.segname == seg)
              for seg in ("__TEXT", "__DATA")]
    dylibs = ["/usr/lib/libSystem.B.dylib"]
    unixthread = LC_UNIXTHREAD in [c[0] for c in img.commands]
    assert I386.macho is not None
    assert load_commands_size(nsects, dylibs, mode == "classic", I386.macho, unixthread) == (
        img.header[4], img.header[5])


def _thread_eip(img: Image) -> int | None:
    for cmd, size, pos in img.commands:
        if cmd == LC_UNIXTHREAD:
            flavor, count = struct.unpack_from("<II", img.data, pos + 8)
            assert (flavor, count, size) == (1, 16, 16 + 4 * 16)  # x86_THREAD_STATE32
            regs = struct.unpack_from("<16I", img.data, pos + 16)
            return regs[10]
    return None


@pytest.mark.parametrize("mode", MODES)
def test_entry_command(outputs: dict[str, Path], mode: str) -> None:
    img = parse(outputs[mode])
    kinds = [c[0] for c in img.commands]
    if mode == "modern-10.9":
        assert LC_MAIN in kinds and LC_UNIXTHREAD not in kinds
        pos = next(c[2] for c in img.commands if c[0] == LC_MAIN)
        entryoff = struct.unpack_from("<Q", img.data, pos + 8)[0]
        assert entryoff + 0x1000 == img.symbols["_main"]
        return
    assert LC_MAIN not in kinds
    eip = _thread_eip(img)
    assert eip == img.symbols[START]  # the linker's own start: no SDK crt1.o here
    crt = start_object("i386")
    assert crt is not None and crt.sections[1] is not None
    code = bytes(crt.sections[1].data or b"")
    assert img.at(eip, 0x1f) == code[:0x1f]  # up to the first call's displacement


@pytest.mark.parametrize("mode", MODES)
def test_stubs_jump_through_the_slot_the_indirect_table_names(outputs: dict[str, Path],
                                                              mode: str) -> None:
    img = parse(outputs[mode])
    stubs = img.sections["__TEXT,__symbol_stub1" if mode == "classic" else "__TEXT,__stubs"]
    slots = img.sections["__DATA,__nl_symbol_ptr" if mode == "classic"
                         else "__DATA,__la_symbol_ptr"]
    assert stubs.flags & 0xFF == 0x8 and stubs.reserved2 == 6
    n = stubs.size // 6
    assert n >= 2  # printf, fprintf (puts is called through a pointer in data)
    for k in range(n):
        code = img.data[stubs.offset + 6 * k:stubs.offset + 6 * k + 6]
        assert code[:2] == b"\xff\x25"  # jmp *abs32
        slot = struct.unpack_from("<I", code, 2)[0]
        index = (slot - slots.addr) // 4
        assert slots.addr <= slot < slots.addr + slots.size and slot % 4 == 0
        assert img.indirect[stubs.reserved1 + k] == img.indirect[slots.reserved1 + index]


def test_stub_helper_pushes_dyld_private_and_jumps_through_the_binder_slot(
        outputs: dict[str, Path]) -> None:
    img = parse(outputs["modern-10.9"])
    helper = img.sections["__TEXT,__stub_helper"]
    head = img.data[helper.offset:helper.offset + 12]
    assert head[0] == 0x68 and head[5:7] == b"\xff\x25" and head[11] == 0x90
    private = struct.unpack_from("<I", head, 1)[0]
    data = img.sections["__DATA,__data"]
    assert data.addr <= private < data.addr + data.size
    binder_slot = struct.unpack_from("<I", head, 7)[0]
    got = img.sections["__DATA,__nl_symbol_ptr"]
    k = (binder_slot - got.addr) // 4
    assert img.names[img.indirect[got.reserved1 + k]] == "dyld_stub_binder"
    la = img.sections["__DATA,__la_symbol_ptr"]
    for k in range(la.size // 4):  # each lazy pointer starts at its helper entry
        entry = struct.unpack_from("<I", img.data, la.offset + 4 * k)[0]
        assert entry == helper.addr + 12 + 10 * k
        code = img.at(entry, 10)
        assert code[0] == 0x68 and code[5] == 0xE9
        assert entry + 10 + struct.unpack_from("<i", code, 6)[0] == helper.addr


def test_object_pointers_are_bound_through_the_indirect_table(outputs: dict[str, Path]) -> None:
    img = parse(outputs["classic"])
    pointers = img.sections["__DATA,__pointers"]
    assert pointers.flags & 0xFF == 0x6  # S_NON_LAZY_SYMBOL_POINTERS
    named = [img.indirect[pointers.reserved1 + k] for k in range(pointers.size // 4)]
    assert "___stdoutp" in [img.names[i] for i in named if not i & 0xC0000000]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bind", ["lazy", "now"])
def test_runs_under_the_emulated_dyld(outputs: dict[str, Path], mode: str, bind: str) -> None:
    assert check(outputs[mode]) == []
    result = run(outputs[mode], bind=bind)
    assert result.faults == []
    assert (result.stdout, result.exit_code) == (EXPECTED, 1 * 3 + 5)  # helper(argc)


HELLO = r"""
#include <stdio.h>
int main(void) { printf("hello, i386\n"); return 0; }
"""


@pytest.mark.parametrize("version", ["10.5", "10.6", "10.9"])
def test_clang_drives_the_link_through_the_ld64_shim(macho32_cc: Callable[..., Path],
                                                     tmp_path: Path, version: str) -> None:
    """clang-14 -target i386-apple-macosx10.6 passes -arch i386 -macosx_version_min 10.6.0
    -lcrt1.10.6.o ... -lSystem; with no SDK, crt1.10.6.o is the linker's own start."""
    obj = macho32_cc(HELLO, "hello")
    out = tmp_path / "hello"
    subprocess.run(["clang-14", f"--target=i386-apple-macosx{version}", "-fuse-ld=lld",
                    f"--ld-path={ld64_shim()}", str(obj), "-o", str(out)], check=True,
                   capture_output=True)
    assert run(out).stdout == b"hello, i386\n"
    kinds = [c[0] for c in parse(out).commands]
    # 10.5's dyld knows no LC_DYLD_INFO (ld64 writes the classic form), 10.8's knows LC_MAIN.
    assert (LC_DYLD_INFO_ONLY in kinds) == (version != "10.5")
    assert (LC_MAIN in kinds) == (version == "10.9")


def test_archives_tbd_and_import(macho32_cc: Callable[..., Path], tmp_path: Path) -> None:
    """An archive member pulled by an undefined reference, an i386 .tbd, --import."""
    main = macho32_cc("int twice(int); int puts(const char *); int custom(void);\n"
                      "int main(void) { puts(\"a\"); return twice(custom()); }", "amain")
    member = macho32_cc("int twice(int x) { return 2 * x; }", "twice")
    archive = tmp_path / "libtw.a"
    shutil.copy(member, tmp_path / "twice.o")
    subprocess.run(["ar", "rc", str(archive), str(tmp_path / "twice.o")], check=True)
    tbd = tmp_path / "libcustom.tbd"
    tbd.write_text("--- !tapi-tbd\ntbd-version: 4\ntargets: [ i386-macos ]\n"
                   "install-name: '/usr/lib/libcustom.dylib'\nexports:\n"
                   "  - targets: [ i386-macos ]\n    symbols: [ _custom ]\n...\n")
    out = tmp_path / "a"
    link([main, "-ltw", str(tbd), "-lSystem"], out, target="macho-i386",
         library_paths=[str(tmp_path)])
    img = parse(out)
    assert "_twice" in img.symbols
    assert {"_custom", "_puts"} <= set(img.names)
    out2 = tmp_path / "b"
    link([main, archive, "-lSystem"], out2, target="macho-i386",
         imports=["_custom@/usr/lib/libcustom.dylib"])
    assert b"/usr/lib/libcustom.dylib" in out2.read_bytes()


def test_x86_64_tbd_does_not_serve_i386(macho32_cc: Callable[..., Path], tmp_path: Path) -> None:
    main = macho32_cc("int only64(void); int main(void) { return only64(); }", "only64")
    tbd = tmp_path / "lib64.tbd"
    tbd.write_text("--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n"
                   "install-name: '/usr/lib/lib64.dylib'\nexports:\n"
                   "  - targets: [ x86_64-macos ]\n    symbols: [ _only64 ]\n...\n")
    with pytest.raises(LinkError, match="undefined symbol"):
        link([main, tbd, "-lSystem"], tmp_path / "x", target="macho-i386")
    assert not (tmp_path / "x").exists()


def test_object_of_the_other_arch_is_refused(macho32_cc: Callable[..., Path],
                                             macho_cc: Callable[..., Path],
                                             tmp_path: Path) -> None:
    obj64 = macho_cc("int main(void) { return 0; }", "main64")
    with pytest.raises(LinkError, match=r"x86_64 object in a link for i386") as info:
        link([obj64, "-lSystem"], tmp_path / "x", target="macho-i386")
    assert "main64.o" in str(info.value) and "\n" not in str(info.value)
    obj32 = macho32_cc("int main(void) { return 0; }", "main32")
    with pytest.raises(LinkError, match=r"i386 object in a link for x86_64"):
        link([obj32, "-lSystem"], tmp_path / "y", target="macho-x86_64")


def test_fno_pic_data_import_is_refused_in_one_line(macho32_cc: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    """-fno-pic i386 code loads `___stdoutp` by absolute address from __TEXT: that needs a
    text relocation, which ld64 refuses as well."""
    obj = macho32_cc("#include <stdio.h>\nint main(void) { fputs(\"x\", stdout); return 0; }",
                     "nopic", "-fno-pic")
    with pytest.raises(LinkError, match="direct .* reference to a symbol imported") as info:
        link([obj, "-lSystem"], tmp_path / "x", target="macho-i386")
    assert "___stdoutp" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "x").exists()


def test_corrupt_objects_fail_in_one_line(macho32_cc: Callable[..., Path],
                                          tmp_path: Path) -> None:
    """Mutated i386 objects (a few random bytes each, fixed seed) either link or fail with
    one line per error (LinkError collects them all); never another exception, never a partial output.  (This found:
    symbol values outside their section, and control characters in names.)"""
    import random
    good = macho32_cc(HELLO, "hello_mut").read_bytes()
    rnd = random.Random(9)
    bad = tmp_path / "mut.o"
    for _ in range(60):
        data = bytearray(good)
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        bad.write_bytes(bytes(data))
        out = tmp_path / "mut"
        try:
            link([bad, "-lSystem"], out, target="macho-i386")
        except LinkError as e:
            # every error of the link is reported, one line each
            lines = str(e).splitlines()
            assert len(lines) == len(e.diagnostics) and not out.exists()
            assert all(str(d) == line for d, line in zip(e.diagnostics, lines))
        else:
            out.unlink()
