"""The field oracle on shared libraries and on PIEs of -fPIC objects: a field the loader
fills is judged from its dynamic relocation (type, symbol, addend), a preemptible symbol
is reached only through one, and general/local-dynamic TLS pairs are checked.  Silent on
GNU ld, gold, lld, mold and linkharness on both targets; loud on mutated relocations."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from linker.shim import shim_dir
from oracle.reference import _gcc_shim_dir
from oracle.relocs import check_fields, check_fields_report

SOURCE = Path(__file__).parent / "check" / "programs" / "pic_lib.c"
MAIN = Path(__file__).parent / "check" / "programs" / "pic_main.c"
LINKERS = ("bfd", "gold", "lld", "mold", "linkharness")


def _gcc(*args: str) -> None:
    subprocess.run(["gcc", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Path, Path]]:
    """(linker, arch) -> (library, its object); plus (linker, arch + '-pie') -> (PIE of the
    -fPIC objects, a directory holding them)."""
    out: dict[tuple[str, str], tuple[Path, Path]] = {}
    d = tmp_path_factory.mktemp("fields-shared")
    for arch, m32 in (("x86-64", []), ("i386", ["-m32"])):
        lib_o, main_o = d / f"lib-{arch}.o", d / f"main-{arch}.o"
        _gcc(*m32, "-O1", "-fPIC", "-c", "-o", str(lib_o), str(SOURCE))
        _gcc(*m32, "-O1", "-fPIC", "-c", "-o", str(main_o), str(MAIN))
        for linker in LINKERS:
            use = [f"-B{shim_dir()}", "-Wl,-z,relro"] if linker == "linkharness" else [
                f"-B{_gcc_shim_dir()}/", f"-fuse-ld={linker}"]
            lib = d / f"lib-{linker}-{arch}.so"
            _gcc(*m32, *use, "-shared", "-Wl,-soname,libpic.so", "-o", str(lib), str(lib_o))
            out[linker, arch] = (lib, lib_o)
            pie = d / f"pie-{linker}-{arch}"
            _gcc(*m32, *use, "-pie", "-o", str(pie), str(main_o), str(lib_o))
            out[linker, f"{arch}-pie"] = (pie, main_o)
    return out


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("linker", LINKERS)
def test_libraries_of_every_linker_have_no_mismatch(
        built: dict[tuple[str, str], tuple[Path, Path]], linker: str, arch: str) -> None:
    lib, obj = built[linker, arch]
    report = check_fields_report(str(lib), [str(obj)])
    assert [str(m) for m in report.mismatches] == []
    names = {s.type_name for s in report.confirmed}
    gd = "R_X86_64_TLSGD" if arch == "x86-64" else "R_386_TLS_GD"
    assert gd in names  # the general-dynamic pair really was judged
    dynamic = [s for s in report.confirmed if s.rule == "dynamic"]
    assert dynamic, "no field was judged from a dynamic relocation"


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
@pytest.mark.parametrize("linker", LINKERS)
def test_pies_of_pic_objects_have_no_mismatch(
        built: dict[tuple[str, str], tuple[Path, Path]], linker: str, arch: str) -> None:
    pie, main_o = built[linker, f"{arch}-pie"]
    lib_o = built[linker, arch][1]
    assert check_fields(str(pie), [str(main_o), str(lib_o)]) == []


def _rela_dyn(data: bytes) -> tuple[int, list[tuple[int, int, int, int]]]:
    """(.rela.dyn offset, [(offset of the entry, type, symbol, addend)]) of an x86-64 file."""
    sec = ELFFile(io.BytesIO(data)).get_section_by_name(".rela.dyn")
    assert sec is not None
    rows = []
    for at in range(sec["sh_offset"], sec["sh_offset"] + sec["sh_size"], 24):
        _, info, addend = struct.unpack_from("<QQq", data, at)
        rows.append((at, info & 0xFFFFFFFF, info >> 32, addend))
    return sec["sh_offset"], rows


def _symbol_value(data: bytes, name: str) -> int:
    dynsym = ELFFile(io.BytesIO(data)).get_section_by_name(".dynsym")
    assert dynsym is not None
    return int(next(s["st_value"] for s in dynsym.iter_symbols()  # type: ignore[attr-defined]
                    if s.name == name))


def _mutated(lib: Path, tmp: Path, change: str) -> Path:
    data = bytearray(lib.read_bytes())
    _, rows = _rela_dyn(bytes(data))
    # pl_callback's word: R_X86_64_64 against pl_fn (default visibility: preemptible)
    at, _, _, addend = next(r for r in rows if r[1] == 1)
    if change == "relative":  # bound locally, as if pl_fn could not be interposed
        struct.pack_into("<Qq", data, at + 8, 8, _symbol_value(bytes(data), "pl_fn"))
    elif change == "addend":
        struct.pack_into("<q", data, at + 16, addend + 8)
    elif change == "dtpoff":  # a GD pair whose offset word forgets the variable
        at = next(r for r in rows if r[1] == 17)[0]
        struct.pack_into("<Q", data, at + 8, 0)
    out = tmp / f"{lib.name}-{change}"
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("linker", ["bfd", "lld", "mold", "linkharness"])
@pytest.mark.parametrize("change", ["relative", "addend", "dtpoff"])
def test_mutated_dynamic_relocations_are_mismatches(
        built: dict[tuple[str, str], tuple[Path, Path]], tmp_path: Path, linker: str,
        change: str) -> None:
    lib, obj = built[linker, "x86-64"]
    found = check_fields(str(_mutated(lib, tmp_path, change)), [str(obj)])
    assert found, f"{change} on {linker}'s library went unnoticed"


@pytest.mark.parametrize("linker", ["bfd", "lld"])
def test_a_gd_rewrite_that_starts_early_is_a_mismatch(tmp_path: Path, linker: str) -> None:
    """lld 14 relaxes i386 -fno-plt general dynamic (`leal x@tlsgd(%ebx), %eax; call
    *___tls_get_addr@GOT(%ebx)`) to local exec two bytes early, over the instruction before
    (the modules property found it; the program faults).  GNU ld gets it right."""
    src = tmp_path / "t.c"
    src.write_text("__thread int tv = 5;\nint get(int k) { return k * 3 + tv; }\n"
                   "int main(void) { return get(1) - 8; }\n")
    obj, exe = tmp_path / "t.o", tmp_path / "t"
    _gcc("-m32", "-O0", "-fPIC", "-fno-plt", "-c", "-o", str(obj), str(src))
    _gcc("-m32", "-no-pie", f"-B{_gcc_shim_dir()}/", f"-fuse-ld={linker}", "-o", str(exe),
         str(obj))
    found = [m for m in check_fields(str(exe), [str(obj)]) if "TLS_GD" in str(m)]
    status = subprocess.run([str(exe)], check=False).returncode
    if linker == "bfd":
        assert found == [] and status == 0
    else:
        assert found and status != 0, "lld 14's early rewrite went unnoticed"
