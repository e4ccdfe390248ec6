"""The Mach-O i386 relocation-field oracle: what llvm-mc-14 and clang-14 put in an i386
MH_OBJECT (the experiments that establish the oracle's facts), and the oracle on files
linked by linkharness --target macho-i386 in both modes, where every field is judged and
every corrupted field is reported."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from macho_i386_sources import ABS_DEF, ABS_USE, EXT, FORMS, FORMS_MORE, HELLO, JUMP_TABLE

from linker import link
from oracle.check.macho import check_macho
from oracle.emulate import run
from oracle.emulate.macho import image as mi
from oracle.macho_relocs import check_macho_fields
from oracle.macho_relocs_inputs import LOCAL_SECTDIFF, SECTDIFF, VANILLA, MachOReloc, read_object

TRIPLE = "i386-apple-macosx10.6"
INCLUDE = Path(__file__).parents[2] / "macho_include"

MODES = {"modern": False, "classic": True}


def _assemble(directory: Path, name: str, text: str) -> Path:
    src, obj = directory / f"{name}.s", directory / f"{name}.o"
    src.write_text(text)
    subprocess.run(["llvm-mc-14", f"-triple={TRIPLE}", "-filetype=obj", str(src), "-o",
                    str(obj)], check=True, capture_output=True)
    return obj


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("i386relocs")
    files = {"forms": _assemble(out, "forms", FORMS), "ext": _assemble(out, "ext", EXT),
             "more": _assemble(out, "more", FORMS_MORE)}
    (out / "hello.c").write_text(HELLO)
    files["hello"] = out / "hello.o"
    subprocess.run(["clang-14", f"--target={TRIPLE}", "-nostdlibinc", "-isystem", str(INCLUDE),
                    "-O1", "-w", "-c", str(out / "hello.c"), "-o", str(files["hello"])],
                   check=True, capture_output=True)
    for mode, classic in MODES.items():
        files[f"forms.{mode}"] = out / f"forms.{mode}"
        link([str(files["forms"]), str(files["ext"]), str(files["more"]), "-lSystem"],
             files[f"forms.{mode}"],
             target="macho-i386", macho_classic=classic)
        files[f"hello.{mode}"] = out / f"hello.{mode}"
        link([str(files["hello"]), "-lSystem"], files[f"hello.{mode}"], target="macho-i386",
             macho_classic=classic)
    return files


def _at(relocs: list[MachOReloc], section: int, offset: int) -> MachOReloc:
    return next(r for r in relocs if (r.section, r.offset) == (section, offset))


# -- the facts, from the assembler --

def test_llvm_mc_forms(built: dict[str, Path]) -> None:
    obj = read_object(built["forms"])
    assert obj.word == 4 and all(r.generic for r in obj.relocs)
    text, other, data = 0, 1, 2
    call = _at(obj.relocs, text, 0x01)
    assert (call.type, call.pcrel, call.target.extern, call.scattered) == (VANILLA, True, True,
                                                                           False)
    assert obj.inplace(call) == -(0x01 + 4)  # the addend minus the end of the field
    assert obj.symbols[call.target.index].name == "_printf"
    local_call = _at(obj.relocs, text, 0x0b)
    assert (local_call.target.extern, local_call.target.index) == (False, other + 1)
    var = _at(obj.relocs, text, 0x10)
    assert (var.target.extern, var.target.index, var.scattered) == (False, data + 1, False)
    assert obj.inplace(var) == obj.sections[data].addr  # _var's object address
    plus4 = _at(obj.relocs, text, 0x15)
    assert plus4.scattered and plus4.value == obj.sections[data].addr
    assert obj.inplace(plus4) == plus4.value + 4
    ext8 = _at(obj.relocs, text, 0x1a)
    assert ext8.target.extern and obj.inplace(ext8) == 8
    diff = _at(obj.relocs, text, 0x2b)
    assert (diff.type, diff.scattered) == (SECTDIFF, True)
    assert diff.value == obj.sections[data].addr and diff.pair_value == 0x28  # L0$pb
    assert obj.inplace(diff) == diff.value - diff.pair_value
    assert _at(obj.relocs, text, 0x31).type == LOCAL_SECTDIFF
    pointer = _at(obj.relocs, text, 0x37)
    pointers = next(s for s in obj.sections if s.sectname == "__pointers")
    assert pointer.type == LOCAL_SECTDIFF and pointer.value == pointers.addr
    assert obj.symbols[obj.indirect[pointers.reserved1]].name == "_ext"
    pc_scattered = _at(obj.relocs, text, 0x3c)
    assert pc_scattered.scattered and pc_scattered.pcrel
    assert pc_scattered.value == obj.sections[other].addr
    # the pc-relative field holds target - (field end) in object space, target = _other + 1
    assert obj.inplace(pc_scattered) == obj.sections[other].addr + 1 - (0x3c + 4)
    assert {r.width for r in obj.relocs} == {2, 4}
    more = read_object(built["more"])
    byte = _at(more.relocs, 0, 0x08)
    assert (byte.type, byte.width, byte.scattered) == (LOCAL_SECTDIFF, 1, True)
    assert byte.value is not None and byte.pair_value is not None
    assert more.inplace(byte) == byte.value - byte.pair_value  # _g - . = 1
    jump = _at(more.relocs, 0, 0x0b)
    assert (jump.pcrel, jump.target.extern, jump.target.index) == (True, False, 2)


def test_clang_pic_code_uses_sectdiff_pairs(built: dict[str, Path]) -> None:
    """clang's i386 Darwin code reaches data as `leal L_x-L0$pb(%esi)` and imported data
    through `L_x$non_lazy_ptr`; calls are pc-relative extern VANILLA."""
    obj = read_object(built["hello"])
    text = [r for r in obj.relocs if obj.sections[r.section].sectname == "__text"]
    kinds = {(r.type, r.pcrel, r.target.extern if not r.scattered else None) for r in text}
    assert (VANILLA, True, True) in kinds
    assert {SECTDIFF, LOCAL_SECTDIFF} & {r.type for r in text}
    called = {obj.symbols[r.target.index].name for r in text if r.pcrel and r.target.extern}
    assert {"_atexit", "_printf", "_fprintf"} <= called


# -- the oracle on linked files --

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("program", ["forms", "hello"])
def test_every_field_confirmed(built: dict[str, Path], program: str, mode: str) -> None:
    inputs = [built["forms"], built["ext"], built["more"]] if program == "forms" \
        else [built["hello"]]
    exe = built[f"{program}.{mode}"]
    assert check_macho(exe.read_bytes()) == []
    report = check_macho_fields(exe, inputs)
    assert report.mismatches == (), str(report)
    total = sum(len(read_object(p).relocs) for p in inputs)
    skipped = sum(report.skipped.values())
    assert report.checked + skipped == total and report.checked >= (19 if program == "forms"
                                                                    else 12)


@pytest.mark.parametrize("mode", MODES)
def test_every_corrupted_field_is_reported(built: dict[str, Path], mode: str,
                                           tmp_path: Path) -> None:
    exe = built[f"forms.{mode}"]
    inputs = [built["forms"], built["ext"], built["more"]]
    good = exe.read_bytes()
    img = mi.parse(good)
    for site in check_macho_fields(exe, inputs).confirmed:
        seg = img.segment_at(site.field)
        assert seg is not None
        at = seg.fileoff + site.field - seg.vmaddr
        bad = bytearray(good)
        bad[at] ^= 0x10
        path = tmp_path / "bad"
        path.write_bytes(bytes(bad))
        report = check_macho_fields(path, inputs)
        assert any(m.address == site.field for m in report.mismatches), (site, str(report))


@pytest.mark.parametrize("bind", ["lazy", "now"])
@pytest.mark.parametrize("mode", MODES)
def test_hello_runs(built: dict[str, Path], mode: str, bind: str) -> None:
    exe = built[f"hello.{mode}"]
    result = run(exe, [str(exe), "x"], bind=bind)
    assert result.faults == []
    assert (result.stdout, result.exit_code) == (b"hello 3 alpha\nx\nbye\n", 7)


def test_a_wrong_difference_says_where_it_leads(built: dict[str, Path], tmp_path: Path) -> None:
    """A SECTDIFF field moved by 0x1000 reaches past __DATA,__data: the mismatch says the
    reached address leaves the minuend's section."""
    exe = built["forms.modern"]
    inputs = [built["forms"], built["ext"], built["more"]]
    report = check_macho_fields(exe, inputs)
    site = next(c for c in report.confirmed if c.type_name.startswith("GENERIC_RELOC_SECTDIFF"))
    img = mi.parse(exe.read_bytes())
    seg = img.segment_at(site.field)
    assert seg is not None
    bad = bytearray(exe.read_bytes())
    at = seg.fileoff + site.field - seg.vmaddr
    value = int.from_bytes(bad[at : at + 4], "little") + 0x1000
    bad[at : at + 4] = value.to_bytes(4, "little")
    path = tmp_path / "bad"
    path.write_bytes(bytes(bad))
    [mismatch] = check_macho_fields(path, inputs).mismatches
    assert mismatch.kind == "value" and "outside the minuend's section" in mismatch.detail


@pytest.mark.parametrize("mode", MODES)
def test_call_through_an_object_jump_table(tmp_path: Path, mode: str) -> None:
    """The call into the object's __jump_table entry is judged against what the output
    makes of it (here a kept entry that jumps to the stub); an entry jumping elsewhere is
    reported at the call."""
    obj = _assemble(tmp_path, "jt", JUMP_TABLE)
    exe = tmp_path / "jt.exe"
    link([str(obj), "-lSystem"], exe, target="macho-i386", macho_classic=MODES[mode])
    result = run(exe)
    assert (result.faults, result.stdout) == ([], b"jump table\n")
    report = check_macho_fields(exe, [obj])
    assert report.mismatches == () and report.checked == 2, str(report)
    img = mi.parse(exe.read_bytes())
    table = next((s for s in img.sections() if s.sectname == "__jump_table"), None)
    if table is None:
        return  # the linker sent the call to the stub itself: nothing more to corrupt
    bad = bytearray(exe.read_bytes())
    bad[table.offset + 1] ^= 0x40  # the kept entry's jmp now lands elsewhere
    (tmp_path / "bad").write_bytes(bytes(bad))
    [mismatch] = check_macho_fields(tmp_path / "bad", [obj]).mismatches
    assert mismatch.kind == "value" and mismatch.offset == 0xD


def test_corrupted_inputs_and_outputs_never_crash_the_oracle(built: dict[str, Path],
                                                             tmp_path: Path) -> None:
    """Random bytes flipped in an i386 object or in the executable: the oracle reports
    (mismatches, an "unreadable" one naming the file it cannot read), never an exception."""
    rng = random.Random("i386 fields")
    inputs = [built["forms"], built["ext"], built["more"]]
    for trial in range(40):
        victim = rng.choice([*inputs, built["forms.modern"]])
        bad = bytearray(victim.read_bytes())
        for _ in range(rng.randint(1, 6)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        path = tmp_path / f"bad{trial}{victim.suffix}"
        path.write_bytes(bytes(bad))
        exe = path if victim == built["forms.modern"] else built["forms.modern"]
        report = check_macho_fields(exe, [path if p == victim else p for p in inputs])
        assert all(m.file == str(path) for m in report.mismatches if m.kind == "unreadable")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("arch", ["i386", "x86_64"])
def test_absolute_symbol_from_another_object(tmp_path: Path, arch: str, mode: str) -> None:
    """`_K = 0x1234` in one object, `_K`, `_K+8` and `$_K+4` in another: S is the value
    (no bind, no slide), whether or not the output keeps _K in its symbol table; a wrong
    value is reported."""
    triple = TRIPLE if arch == "i386" else "x86_64-apple-macosx10.9"
    objs = []
    for name, text in (("use", ABS_USE[arch]), ("def", ABS_DEF)):
        (tmp_path / f"{name}.s").write_text(text)
        objs.append(tmp_path / f"{name}.o")
        subprocess.run(["llvm-mc-14", f"-triple={triple}", "-filetype=obj",
                        str(tmp_path / f"{name}.s"), "-o", str(objs[-1])], check=True,
                       capture_output=True)
    exe = tmp_path / "abs.exe"
    link([*map(str, objs), "-lSystem"], exe, target=f"macho-{arch}", macho_classic=MODES[mode])
    report = check_macho_fields(exe, objs)
    assert report.mismatches == () and report.checked == 3, str(report)
    site = next(c for c in report.confirmed if c.section == "__DATA,__data" and c.offset == 0)
    img = mi.parse(exe.read_bytes())
    seg = img.segment_at(site.field)
    assert seg is not None
    bad = bytearray(exe.read_bytes())
    bad[seg.fileoff + site.field - seg.vmaddr] ^= 1
    (tmp_path / "bad").write_bytes(bytes(bad))
    [mismatch] = check_macho_fields(tmp_path / "bad", objs).mismatches
    assert mismatch.kind == "value" and mismatch.symbol == "_K"
