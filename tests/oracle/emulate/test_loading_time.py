"""Loading counts against a run's wall-time limit (issue 13), and the emulated ld.so's
index of a real library's exports reads what pyelftools reads.

Found by the outside hostile campaign: `oracle.run(libboost_regex.so, timeout=1.0)` took
6-7 s, all of it before the first guest instruction, binding the host's real libstdc++
(~6,000 exports) through a pyelftools symbol index and ~4,000 relocations.  Main's load
deadline (memory.loading_step) now bounds the relocations; the index, one uninterruptible
call, is read without pyelftools (dynsym_index.py): that load went from 0.73 s to 0.24 s."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from oracle import run
from oracle.emulate.dynsym_index import symbol_index

CXX_PROGRAM = "#include <iostream>\nint main() { std::cout << \"hi\\n\"; return 0; }\n"


@pytest.fixture(scope="module")
def cxx_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GNU-ld-linked C++ program: its run loads the host's real libstdc++.so.6."""
    where = tmp_path_factory.mktemp("cxx")
    (where / "hello.cc").write_text(CXX_PROGRAM)
    subprocess.run(["g++", "-o", str(where / "hello"), str(where / "hello.cc")], check=True)
    return where / "hello"


def test_a_run_that_loads_libstdcxx_ends_within_its_time_limit(cxx_program: Path) -> None:
    run(cxx_program, timeout=5.0)  # imports and the CPU pool (libstdc++ not found: not read)
    timeout = 0.05
    start = time.monotonic()
    result = run(cxx_program, timeout=timeout, max_instructions=None,
                 library_path=["/usr/lib/x86_64-linux-gnu"])  # the real libstdc++.so.6
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 1.0, f"the run took {elapsed:.1f}s under timeout={timeout}"
    assert result.faults  # a timeout (or, on a fast machine, glibc's data it lacks)


def _pyelftools_index(path: Path) -> list[tuple[str, int, str | None]]:
    """(name, dynsym index, version) of each visible global definition, per pyelftools."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        dynsym = elf.get_section_by_name(".dynsym")
        assert isinstance(dynsym, SymbolTableSection)
        versym: Any = elf.get_section_by_name(".gnu.version")
        verdef: Any = elf.get_section_by_name(".gnu.version_d")
        names = {v.entry["vd_ndx"]: next(aux).name for v, aux in verdef.iter_versions()} \
            if verdef is not None else {}
        out = []
        for index, sym in enumerate(dynsym.iter_symbols()):
            if (not sym.name or sym["st_info"]["bind"] == "STB_LOCAL"
                    or sym["st_other"]["visibility"] in ("STV_HIDDEN", "STV_INTERNAL")
                    or sym["st_shndx"] == "SHN_UNDEF"):
                continue
            raw: Any = versym.get_symbol(index)["ndx"] if versym is not None else 0
            ndx: int = {"VER_NDX_LOCAL": 0, "VER_NDX_GLOBAL": 1}.get(str(raw), raw)
            version = names.get(ndx & 0x7FFF)
            out.append((sym.name, index, version))
    return out


@pytest.mark.parametrize("library", ["/usr/lib/x86_64-linux-gnu/libm.so.6",
                                     "/usr/lib32/libm.so.6"])
def test_symbol_index_reads_what_pyelftools_reads(library: str) -> None:
    path = Path(library)
    expected = _pyelftools_index(path)
    definitions, canonical = symbol_index(path.read_bytes(), False)
    got = [(name, d.index, d.version) for name, d in definitions]
    assert len(got) > 300  # libm: hundreds of versioned exports
    assert got == expected
    assert canonical == ()


@pytest.mark.parametrize("damage", ["truncated", "entsize", "link", "shoff"])
def test_symbol_index_of_a_damaged_table_is_empty_not_an_exception(damage: str) -> None:
    data = bytearray(Path("/usr/lib/x86_64-linux-gnu/libm.so.6").read_bytes())
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shnum = int.from_bytes(data[0x3C:0x3E], "little")
    if damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "shoff":
        data[0x28:0x30] = (len(data) - 8).to_bytes(8, "little")
    else:
        for n in range(shnum):
            at = shoff + n * 64
            if int.from_bytes(data[at + 4:at + 8], "little") == 11:  # SHT_DYNSYM
                field, value = {"entsize": (56, 23), "link": (40, 0xFFFF)}[damage]
                data[at + field:at + field + 4] = value.to_bytes(4, "little")
    assert symbol_index(bytes(data), True) == ((), ())
