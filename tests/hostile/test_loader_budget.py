"""Loading counts against a run's budget: a linked executable whose PT_LOAD (ELF) or
segment (Mach-O) claims a huge memory size is refused by the loader, in about the time a
normal load takes, instead of being mapped page by page (issue 13: a mutated p_memsz made
oracle.run(..., timeout=3.0) spend more than 10 s before its limits applied)."""

from __future__ import annotations

import resource
import struct
import subprocess
import time
from pathlib import Path

import pytest

from fuzz.hostile.seeds import Targets
from oracle.emulate import run

TIMEOUT = 3.0
SLACK = 1.0


def _elf_last_load(data: bytes) -> tuple[int, bool]:
    """File offset of the last PT_LOAD's program header, and whether the file is ELF64."""
    is64 = data[4] == 2
    phoff, phentsize, phnum = ((struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from(
        "<HH", data, 54)) if is64 else (struct.unpack_from("<I", data, 28)[0],
                                         *struct.unpack_from("<HH", data, 42)))
    loads = [phoff + i * phentsize for i in range(phnum)
             if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 1]
    return loads[-1], is64


def _with_elf_memsz(data: bytes, memsz: int) -> bytes:
    at, is64 = _elf_last_load(data)
    out = bytearray(data)
    if is64:
        struct.pack_into("<Q", out, at + 40, memsz)
    else:
        struct.pack_into("<I", out, at + 20, memsz & 0xFFFFFFFF)
    return bytes(out)


def _with_macho_vmsize(data: bytes, vmsize: int) -> bytes:
    """The last segment's vmsize (LC_SEGMENT_64 or LC_SEGMENT) set to `vmsize`."""
    is64 = struct.unpack_from("<I", data, 0)[0] == 0xFEEDFACF
    ncmds = struct.unpack_from("<I", data, 16)[0]
    at, last = (32 if is64 else 28), None
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        if cmd in (0x19, 0x1) and not data[at + 8:at + 24].startswith(b"__LINKEDIT"):
            last = at
        at += size
    assert last is not None
    out = bytearray(data)
    if is64:
        struct.pack_into("<Q", out, last + 32, vmsize)
    else:
        struct.pack_into("<I", out, last + 28, vmsize & 0xFFFFFFFF)
    return bytes(out)


@pytest.mark.parametrize("name", ["elf64-exe", "elf32-exe", "macho64-exe", "macho32-exe"])
@pytest.mark.parametrize("size", [0x4000_0000, 0xFFFF_F000, 0x7FFF_0000_0000])
def test_huge_segment_is_refused_within_the_budget(name: str, size: int, targets: Targets,
                                                    tmp_path: Path) -> None:
    target = targets.exes[name]
    data = target.exe.read_bytes()
    hostile = (_with_elf_memsz(data, size) if name.startswith("elf")
               else _with_macho_vmsize(data, size))
    path = tmp_path / name
    path.write_bytes(hostile)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    result = run(path, timeout=TIMEOUT, library_path=target.library_path)
    elapsed = time.monotonic() - start
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) >> 10
    assert elapsed < TIMEOUT + SLACK, f"{elapsed:.1f}s"
    assert grown_mib < 128, f"peak resident size grew {grown_mib} MiB"
    assert result.faults, "a segment past the memory cap must not load"


def _with_copied_symbol_size(path: Path, size: int) -> bytes:
    """The executable with the .dynsym st_size of its first COPY-relocated symbol set to
    `size` (ELF64 or ELF32)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection
    with open(path, "rb") as f:
        elf = ELFFile(f)
        copy = 5  # R_X86_64_COPY and R_386_COPY are both 5
        relocs = [r for s in elf.iter_sections() if isinstance(s, RelocationSection)
                  for r in s.iter_relocations() if r["r_info_type"] == copy]
        dynsym = elf.get_section_by_name(".dynsym")
        assert dynsym is not None
        index = relocs[0]["r_info_sym"]
        entsize, size_at, fmt = (24, 16, "<Q") if elf.elfclass == 64 else (16, 8, "<I")
        at = dynsym["sh_offset"] + index * entsize + size_at
    out = bytearray(path.read_bytes())
    struct.pack_into(fmt, out, at, size & (0xFFFF_FFFF if fmt == "<I" else 2**64 - 1))
    return bytes(out)


@pytest.mark.parametrize("name", ["elf64-exe", "elf32-exe"])
def test_huge_copy_relocation_is_refused_within_the_budget(name: str, targets: Targets,
                                                           tmp_path: Path) -> None:
    """A COPY whose symbol claims a gigabyte: the emulated ld.so used to make the library's
    initial bytes word by word before noticing (a hang found by the 2-process campaign)."""
    target = targets.exes[name]
    path = tmp_path / name
    path.write_bytes(_with_copied_symbol_size(target.exe, 0x4000_0000))
    start = time.monotonic()
    result = run(path, timeout=TIMEOUT, library_path=target.library_path)
    assert time.monotonic() - start < TIMEOUT + SLACK
    assert any("COPY of" in f.message for f in result.faults), result.faults


def _sparse(path: Path, head: bytes, size: int) -> Path:
    """A file of `size` bytes starting with `head`, the rest a hole (no disk used)."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


CAP = 32 << 20


@pytest.mark.parametrize("name", ["elf64-exe", "macho64-exe", "elf64-so", "macho64-dylib"])
def test_a_file_past_the_memory_cap_is_refused_unread(name: str, targets: Targets,
                                                      tmp_path: Path) -> None:
    """An executable, or a library it loads, of more bytes than the run's memory cap: the
    run is refused naming the file before reading it (reading it would allocate past the
    cap; a sparse file of gigabytes costs the test nothing)."""
    target = targets.exes[name]
    hostile = _sparse(tmp_path / target.exe.name, target.exe.read_bytes()[:4096], 4 << 30)
    program = hostile
    if target.host is not None:  # the library beside a copy of the executable that loads it
        program = tmp_path / target.host.name
        program.write_bytes(target.host.read_bytes())
        program.chmod(0o755)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run(program, timeout=TIMEOUT, memory_cap=CAP,
                 library_path=[tmp_path, *target.library_path])
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) >> 10
    assert grown_mib < 64, f"peak resident size grew {grown_mib} MiB"
    assert any(f"{hostile}: file of {4 << 30} bytes is larger than the run's memory cap"
               in f.message for f in result.faults), result.faults


def test_an_input_too_big_for_memory_is_a_one_line_error(tmp_path: Path) -> None:
    """Under an address-space limit, a 4 GiB object (a sparse file) cannot be read: a
    LinkError naming it, no traceback, no output; oracle.check reports it as ELF-PARSE (in
    a child process, which the limit binds)."""
    import subprocess
    import sys
    for name, head in (("big.o", b"\x7fELF\x02\x01\x01"), ("big-macho.o", b"\xcf\xfa\xed\xfe")):
        _sparse(tmp_path / name, head, 4 << 30)
        target = "macho-x86_64" if "macho" in name else "elf64-x86-64"
        child = subprocess.run([sys.executable, "-c", f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from linker import LinkError, link
from oracle.check import check
try:
    link([{str(tmp_path / name)!r}], {str(tmp_path / "a.out")!r}, target={target!r})
except LinkError as err:
    print(err)
print(*check({str(tmp_path / name)!r}))
"""], check=False, capture_output=True, text=True, timeout=120)
        assert child.stderr == "" and child.stdout.count("\n") == 2, child
        link_line, check_line = child.stdout.splitlines()
        assert link_line.startswith(f"{tmp_path / name}: cannot read input: its "
                                    f"{4 << 30} bytes do not fit in memory"), link_line
        # past the oracle's file limit, check does not even try to read it
        assert check_line == (f"ELF-PARSE file: file of {4 << 30} bytes is larger than the "
                              f"oracle reads ({256 << 20} bytes)")
        assert not (tmp_path / "a.out").exists()


def _pie_with_relocations(tmp_path: Path, count: int, m32: bool) -> Path:
    """A PIE whose .data holds `count` pointers: as many R_*_RELATIVE rows."""
    (tmp_path / "table.s").write_text(
        f"    .data\n    .globl table\ntable:\n    .rept {count}\n"
        f"    {'.long' if m32 else '.quad'} anchor\n    .endr\n"
        "    .globl anchor\nanchor: .long 0\n    .section .note.GNU-stack,\"\",@progbits\n")
    (tmp_path / "main.c").write_text(
        "extern void *table[]; int main(void) { return table[7] == 0; }\n")
    exe = tmp_path / "many-relocs"
    subprocess.run(["gcc", *(["-m32"] if m32 else []), "-fpie", "-pie", "-o", str(exe),
                    str(tmp_path / "main.c"), str(tmp_path / "table.s")],
                   check=True, capture_output=True)
    return exe


def _retyped(exe: Path, rtype: int) -> Path:
    """The same file with every .rela.dyn/.rel.dyn row's type set to `rtype` (symbol 0)."""
    from elftools.elf.elffile import ELFFile

    data = bytearray(exe.read_bytes())
    with open(exe, "rb") as f:
        elf = ELFFile(f)
        sec = elf.get_section_by_name(".rela.dyn") or elf.get_section_by_name(".rel.dyn")
        assert sec is not None
        start, size, entsize = sec["sh_offset"], sec["sh_size"], sec["sh_entsize"]
        is64 = elf.elfclass == 64
    for at in range(start, start + size, entsize):
        struct.pack_into("<Q" if is64 else "<I", data, at + (8 if is64 else 4), rtype)
    out = exe.with_name(f"{exe.name}-type{rtype}")
    out.write_bytes(bytes(data))
    out.chmod(0o755)
    return out


@pytest.mark.parametrize("m32", [False, True], ids=["x86-64", "i386"])
def test_relocating_counts_against_the_time_limit(tmp_path: Path, m32: bool) -> None:
    """Loading is inside the run's wall-time limit: 400,000 rows that each take the
    one-by-one path (R_NONE, or an absolute word against symbol 0) end the load as a
    timeout well within the limit plus a second, and the same count of RELATIVE rows
    (applied as arrays) loads and runs."""
    exe = _pie_with_relocations(tmp_path, 400_000, m32)
    started = time.monotonic()
    good = run(exe, [str(exe)], timeout=TIMEOUT)
    assert (good.exit_code, good.faults) == (0, [])
    assert time.monotonic() - started < TIMEOUT + SLACK
    for rtype in (0, 1):
        slow = _retyped(exe, rtype)
        started = time.monotonic()
        result = run(slow, [str(slow)], timeout=0.05)
        took = time.monotonic() - started
        assert took < 0.05 + SLACK, f"type {rtype}: {took:.1f}s"
        assert [(f.kind, f.message) for f in result.faults] == [
            ("timeout", "wall-time limit of 0.05s exceeded while loading")]
