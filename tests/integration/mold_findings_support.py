"""Helpers of the mold-suite findings tests: our own sources, building with either
linker through gcc, running natively, reading .dynsym."""

from __future__ import annotations

import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

SOURCES = Path(__file__).resolve().parent / "mold_suite_findings"


def build_ok(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stderr[-3000:]}"
    return proc


def native_stdout(exe: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(exe)], cwd=exe.parent, capture_output=True, text=True,
                          timeout=60, check=False, env=env)
    assert proc.returncode == 0, f"{exe.name} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


def linkers(shim: str) -> dict[str, str]:
    return {"gnu": "-fuse-ld=bfd", "lh": f"-B{shim}"}


def dynsym_entry(path: Path, name: str) -> tuple[str, int]:
    with open(path, "rb") as handle:
        table = ELFFile(handle).get_section_by_name(".dynsym")
        assert isinstance(table, SymbolTableSection)
        sym = next(s for s in table.iter_symbols() if s.name == name)
        return sym["st_info"]["type"], sym["st_value"]
