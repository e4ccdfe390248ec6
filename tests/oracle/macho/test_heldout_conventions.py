"""What the held-out Apple files of issue 21 taught the checker (79 macOS wheels, 957
Mach-O files, none of them in the pinned reference set): each shape below is in files that
macOS loads, so the checker must accept it, while the broken neighbour of each shape is
still rejected.

- ld64 writes export-trie edges with an empty label (libllvmlite.dylib, numpy's and
  scipy's extensions): the node of `_LLVMPY_RunPassManager` is not terminal and has the
  edges "WithRemarks" and "", the latter to the terminal.  dyld's trieWalk takes an empty
  edge whatever the name, so it is wrong only before other edges or below a terminal.
- A big image has more rebases than the fixed record budget that keeps a fuzzed repeat
  count from costing memory (libllvmlite.dylib: 301,597 rebases in 95 MB): the budget
  grows with the file (one record per pointer-sized word).
- dsymutil's companions (MH_DSYM, pyobjc-core ships them) and lipo's universal static
  libraries (numpy 1.8's libnpymath.a) are no linked image: not judged, and said so.
- zig's linker leaves each segment's filesize exact and pads to the next page: several
  gaps under a page are alignment, not zero-fill written into the file.
- lief's extension (second held-out batch) rebases its __thread_ptrs slots by opcodes
  while their indirect entries name symbols past its stripped table: nothing reads them,
  so a warning there, and still an error for any other section's entry.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.leb128 import uleb128 as _uleb
from linker.macho.cli import main as ld64_main
from oracle.check import check
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.opcodes import MAX_RECORDS, OpcodeError, decode_rebases, record_limit

LIBSYSTEM_TBD = str(Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd")
NAMES = ["_run", "_runWithRemarks", "_a_long_name_that_only_makes_room_in_the_trie_1",
         "_a_long_name_that_only_makes_room_in_the_trie_2"]



def _terminal(offset: int) -> bytes:
    info = b"\0" + _uleb(offset)  # flags 0 (a regular export), its offset from the header
    return _uleb(len(info)) + info + b"\0"  # no children


@pytest.fixture(scope="module")
def dylib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trie")
    src = "".join(f"int {n[1:]}(void) {{ return {k}; }}\n" for k, n in enumerate(NAMES))
    src += "int counter = 7;\nint *pointer = &counter;\n"  # a __DATA segment
    (root / "t.c").write_text(src)
    subprocess.run(["clang-14", "--target=x86_64-apple-macosx10.9", "-c", "t.c", "-o", "t.o"],
                   cwd=root, check=True)
    out = root / "libt.dylib"
    assert ld64_main(["-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0",
                      "-dylib", LIBSYSTEM_TBD, str(root / "t.o"), "-o", str(out)]) == 0
    assert check(out) == []
    return out


def _with_trie(dylib: Path, shape: str) -> bytes:
    """The dylib with its trie replaced by one that exports only _run and _runWithRemarks
    through an empty edge, laid out as `shape` says (padded to the old trie's size)."""
    data = bytearray(dylib.read_bytes())
    img = mi.parse(bytes(data))
    assert img.dyld_info is not None
    base = img.header_address()
    address = {s.name: s.value - base for s in img.symbols() if s.name in NAMES}
    run_t, remarks_t = _terminal(address["_run"]), _terminal(address["_runWithRemarks"])
    root = b"\0\x01_run\0"  # not terminal, one edge; its child offset follows
    node_at = len(root) + 1
    if shape == "ld64":  # "WithRemarks" then "": the form ld64 writes
        edges = [(b"WithRemarks", remarks_t), (b"", run_t)]
        node_size = 0
    elif shape == "empty_first":  # "" first: dyld would take it for _runWithRemarks too
        edges = [(b"", run_t), (b"WithRemarks", remarks_t)]
        node_size = 0
    else:  # "below_terminal": the node is itself _run's terminal; the "" edge is dead
        edges = [(b"WithRemarks", remarks_t), (b"", run_t)]
        node_size = 1
    head = (run_t[:-1] + b"\x02") if node_size else b"\0\x02"
    node_len = len(head) + sum(len(label) + 2 for label, _ in edges)
    children, body, at = [], b"", node_at + node_len
    for label, term in edges:
        children.append(label + b"\0" + _uleb(at))
        body += term
        at += len(term)
    trie = root + _uleb(node_at) + head + b"".join(children) + body
    off, size = img.dyld_info.export
    assert len(trie) <= size and all(len(_uleb(x)) == 1 for x in (node_at, at))
    data[off:off + size] = trie.ljust(size, b"\0")
    return bytes(data)


def _trie_findings(data: bytes) -> list[str]:
    return [v.what for v in check(data) if v.rule == "MACHO-EXPORT-TRIE"]


def test_an_empty_edge_where_ld64_writes_it_is_accepted(dylib: Path) -> None:
    from oracle.emulate.macho.dylib_images import exports

    data = _with_trie(dylib, "ld64")
    assert _trie_findings(data) == []
    found = exports(mi.parse(data))
    assert set(found) == {"_run", "_runWithRemarks"} and found["_run"] != found[
        "_runWithRemarks"]


@pytest.mark.parametrize("shape, what", [
    ("empty_first", "before other edges"),
    ("below_terminal", "below a terminal node"),
])
def test_an_empty_edge_dyld_cannot_take_is_rejected(dylib: Path, shape: str,
                                                    what: str) -> None:
    findings = _trie_findings(_with_trie(dylib, shape))
    assert len(findings) == 1 and what in findings[0]


def test_the_record_budget_grows_with_the_file() -> None:
    """SET_TYPE pointer, SET_SEGMENT 1 offset 0, DO_REBASE_ULEB_TIMES 300,000, DONE."""
    stream = bytes([0x11, 0x21, 0x00, 0x60]) + _uleb(300_000) + b"\0"
    with pytest.raises(OpcodeError, match=f"more than {MAX_RECORDS} rebases"):
        decode_rebases(stream)
    big = record_limit(95_508_816, 8)  # libllvmlite.dylib's size
    assert len(decode_rebases(stream, limit=big)) == 300_000
    assert record_limit(4096, 8) == MAX_RECORDS  # a fuzzed small file keeps the budget


def test_a_dsym_companion_is_not_judged(tmp_path: Path) -> None:
    (tmp_path / "m.c").write_text("int f(int x) { return x + 1; }\nint main(void) { return f(1); }\n")
    subprocess.run(["clang-14", "--target=x86_64-apple-macosx10.9", "-g", "-c", "m.c", "-o",
                    "m.o"], cwd=tmp_path, check=True)
    exe = tmp_path / "m"
    assert ld64_main(["-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0",
                      LIBSYSTEM_TBD, str(tmp_path / "m.o"), "-o", str(exe)]) == 0
    subprocess.run(["dsymutil-14", str(exe), "-o", str(tmp_path / "m.dSYM")], check=True)
    dwarf = tmp_path / "m.dSYM" / "Contents" / "Resources" / "DWARF" / "m"
    assert struct.unpack_from("<I", dwarf.read_bytes(), 12)[0] == 0xA  # MH_DSYM
    assert check(dwarf) == []
    done = _cli_check(dwarf)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "ok: 0 rules checked",
        (f"{dwarf}: a dSYM companion (MH_DSYM) is not judged (the Mach-O rules are for "
         "linked images; dsymutil writes its load commands without their contents)")]
    header = bytearray(dwarf.read_bytes())
    struct.pack_into("<I", header, 12, 7)  # MH_DYLINKER: a file type the rules refuse
    assert "MACHO-HEADER" in {v.rule for v in check(bytes(header))}


def test_a_universal_static_library_is_not_judged(tmp_path: Path) -> None:
    for arch, triple in (("x86_64", "x86_64-apple-macosx10.9"), ("i386", "i386-apple-macosx10.6")):
        (tmp_path / "s.c").write_text("int s(void) { return 1; }\n")
        subprocess.run(["clang-14", f"--target={triple}", "-c", "s.c", "-o", f"s-{arch}.o"],
                       cwd=tmp_path, check=True)
        subprocess.run(["llvm-ar-14", "rcs", f"lib-{arch}.a", f"s-{arch}.o"], cwd=tmp_path,
                       check=True)
    fat = tmp_path / "libs.a"
    subprocess.run(["llvm-lipo-14", "-create", "-arch", "x86_64", "lib-x86_64.a", "-arch", "i386",
                    "lib-i386.a", "-output", str(fat)], cwd=tmp_path, check=True)
    assert check(fat) == []
    done = _cli_check(fat)
    assert done.returncode == 0
    reason = "a static archive is not judged (the Mach-O rules are for linked images)"
    assert sorted(done.stdout.splitlines()[1:]) == [f"{fat}: slice i386: {reason}",
                                                    f"{fat}: slice x86_64: {reason}"]


def _with_gaps(dylib: Path, tails: dict[str, int], before_linkedit: int = 0) -> bytes:
    """The dylib with each segment's filesize cut by `tails[name]` bytes of its padding,
    and `before_linkedit` zero bytes inserted before __LINKEDIT (its offsets moved)."""
    data = bytearray(dylib.read_bytes())
    img = mi.parse(bytes(data))
    for name, tail in tails.items():
        seg = img.segment_named(name)
        assert seg is not None
        end = seg.fileoff + seg.filesize
        assert not any(data[end - tail:end]), f"{name} has too little padding"
        struct.pack_into("<Q", data, img.commands[seg.command].offset + 48, seg.filesize - tail)
    linkedit = img.segment_named("__LINKEDIT")
    assert linkedit is not None
    struct.pack_into("<Q", data, img.commands[linkedit.command].offset + 40,
                     linkedit.fileoff + before_linkedit)
    offsets = {mi.LC_SYMTAB: (0, 2), mi.LC_DYSYMTAB: (12, 14, 16),
               mi.LC_DYLD_INFO_ONLY: (0, 2, 4, 6, 8), 0x26: (0,), 0x29: (0,)}
    for command in img.commands:
        for k in offsets.get(command.cmd, ()):
            at = command.offset + 8 + 4 * k
            (value,) = struct.unpack_from("<I", data, at)
            if value:
                struct.pack_into("<I", data, at, value + before_linkedit)
    data[linkedit.fileoff:linkedit.fileoff] = bytes(before_linkedit)
    return bytes(data)


def test_gaps_under_a_page_between_segments_are_alignment(dylib: Path) -> None:
    """Two gaps under a page that together pass one (zig's linker writes each segment's
    filesize exact and pads to the next page): accepted; one gap past a page: rejected."""
    spread = check(_with_gaps(dylib, {"__TEXT": 0x800, "__DATA": 0x900}))
    assert spread == []
    one = {v.rule for v in check(_with_gaps(dylib, {"__DATA": 0x10}, before_linkedit=0x1000))}
    assert "MACHO-FILE-SPACE" in one


def _cli_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oracle.cli", "check", str(path)],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("section_type, rule", [
    (0x14, "MACHO-INDIRECT-TLV-PTRS"),  # S_THREAD_LOCAL_VARIABLE_POINTERS: a warning
    (mi.S_NON_LAZY_SYMBOL_POINTERS, "MACHO-INDIRECT-INDEX"),  # dyld's tools read it: error
])
def test_a_stale_indirect_entry_of_thread_pointers_only_warns(
        tmp_path: Path, section_type: int, rule: str) -> None:
    (tmp_path / "m.c").write_text("extern int shared;\nint main(void) { return shared; }\n")
    (tmp_path / "l.c").write_text("int shared = 3;\n")
    for name in ("m", "l"):
        subprocess.run(["clang-14", "--target=x86_64-apple-macosx10.9", "-c", f"{name}.c",
                        "-o", f"{name}.o"], cwd=tmp_path, check=True)
    common = ["-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0", LIBSYSTEM_TBD]
    lib, exe = tmp_path / "libl.dylib", tmp_path / "m"
    assert ld64_main([*common, "-dylib", str(tmp_path / "l.o"), "-o", str(lib)]) == 0
    assert ld64_main([*common, str(tmp_path / "m.o"), str(lib), "-o", str(exe)]) == 0
    data = bytearray(exe.read_bytes())
    img = mi.parse(bytes(data))
    got = next(s for s in img.sections() if s.type == mi.S_NON_LAZY_SYMBOL_POINTERS)
    header = next(off for off in _section_headers(img) if data[off:off + 16].rstrip(b"\0")
                  == got.name.split(",")[1].encode())
    struct.pack_into("<I", data, header + 64, section_type)  # flags: the type in the low byte
    assert img.dysymtab is not None
    indirectsymoff = img.dysymtab[12]
    struct.pack_into("<I", data, indirectsymoff + 4 * got.reserved1, 52938)
    found = [(v.rule, v.severity) for v in check(bytes(data)) if "INDIRECT" in v.rule]
    assert found == [(rule, "warning" if section_type == 0x14 else "error")]


def _section_headers(img: mi.MachOImage) -> list[int]:
    """The file offsets of every section_64 header (80 bytes, after its segment's 72)."""
    out = []
    for command in img.commands:
        if command.cmd == 0x19:  # LC_SEGMENT_64
            nsects = struct.unpack_from("<I", img.data, command.offset + 64)[0]
            out += [command.offset + 72 + 80 * k for k in range(nsects)]
    return out
