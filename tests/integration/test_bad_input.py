"""Bad input through the CLI: one error line naming where and what, exit 1, no output file.

DESIGN.md: "a malformed object, archive or stub gives a LinkError naming the file, the section
or offset, and the rule broken; the CLI prints one line and exits 1. No partial output file is
ever left behind."  Each case builds a good input, breaks one thing, and runs
`python -m linker` on it in a directory of its own; afterwards that directory must hold
exactly the inputs (no output, no temporary file).  Object-level cases run for x86-64 (ELF64,
RELA) and i386 (ELF32, REL) objects.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_objects import (
    AR_SIZE_FIELD,
    AR_TERMINATOR,
    ARCHES,
    EM_ARM,
    EXTRA_S,
    NEEDS_VALUE_S,
    VALUE_S,
    X86_64,
    Arch,
    ElfPatch,
    ar_members,
    archive,
    assemble,
    compile_c,
)


@dataclass(frozen=True)
class Case:
    """Link arguments, and what the error must mention: each entry is a set of alternatives,
    at least one of which must appear (e.g. a section by name or by index).  `lines` is the
    exact number of error lines, or 0 for "one or more" (undefined symbols: one per symbol
    or per reference)."""

    args: list[str]
    mentions: list[tuple[str, ...]]
    lines: int = 1


def _start(d: Path, arch: Arch) -> ElfPatch:
    return ElfPatch(assemble(d, "start.o", arch.start, arch), arch)


def truncated_header(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    p.truncate(40)
    p.save()
    return Case(["start.o"], [("start.o",)])


def truncated_tail(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    p.truncate(len(p.data) - 100)
    p.save()
    return Case(["start.o"], [("start.o",)])


def garbage_shoff(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    p.set_shoff(0xDEADBEE0)
    p.save()
    return Case(["start.o"], [("start.o",), ("0xdeadbee0", "section header")])


def section_past_eof(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    p.set_section_offset(".text", len(p.data) + 0x1000)
    p.save()
    return Case(["start.o"], [("start.o",), (".text", f"[{p.section_index('.text')}]")])


def symbol_bad_section(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    p.set_symbol_section("helper", 0x7FF0)
    p.save()
    return Case(["start.o"], [("start.o",), ("helper",)])


def reloc_bad_symbol(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    _, rtype = p.reloc_info(0)
    p.set_reloc_info(0, 9999, rtype)
    p.save()
    return Case(["start.o"], [("start.o",), (".text",), ("9999",)])


def reloc_offset_past_end(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    p.set_reloc_offset(1, 0x10000)
    p.save()
    return Case(["start.o"], [("start.o",), (".text",), ("0x10000",)])


def reloc_unknown_type(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    symbol, _ = p.reloc_info(0)
    p.set_reloc_info(0, symbol, 200)
    p.save()
    return Case(["start.o"], [("start.o",), (".text",), ("200",)])


def wrong_machine(d: Path, arch: Arch) -> Case:
    p = _start(d, arch)
    p.set_machine(EM_ARM)
    p.save()
    return Case(["start.o"], [("start.o",), ("machine",)])


def tls_relocation(d: Path, arch: Arch) -> Case:
    """TLS the linker refuses: descriptors (gnu2), on both arches (the other TLS models are
    linked)."""
    _start(d, arch)
    flags = ("-fPIC", "-mtls-dialect=gnu2")
    compile_c(d, "tls.o", "__thread int x = 1;\nint f(void) { return x; }\n", arch, flags)
    return Case(["start.o", "tls.o"], [("tls.o",), ("TLS", "thread-local", "thread local")])


def _value_archive(d: Path) -> Path:
    assemble(d, "start.o", NEEDS_VALUE_S)
    members = [assemble(d, "extra.o", EXTRA_S), assemble(d, "value.o", VALUE_S)]
    return archive(d, "libvalue.a", members)


def _patch_member_header(lib: Path, member: str, field: int, value: bytes) -> None:
    data = bytearray(lib.read_bytes())
    header = next(pos for pos, name, _ in ar_members(bytes(data)) if name.startswith(member))
    data[header + field:header + field + len(value)] = value
    lib.write_bytes(bytes(data))


def truncated_archive(d: Path, arch: Arch) -> Case:
    lib = _value_archive(d)
    data = lib.read_bytes()
    lib.write_bytes(data[: len(data) - 200])  # cuts into value.o, the member start.o needs
    return Case(["start.o", "libvalue.a"], [("libvalue.a",)])


def archive_bad_member_size(d: Path, arch: Arch) -> Case:
    lib = _value_archive(d)
    _patch_member_header(lib, "extra.o", AR_SIZE_FIELD, b"12x4      ")
    return Case(["start.o", "libvalue.a"], [("libvalue.a",)])


def archive_bad_header_terminator(d: Path, arch: Arch) -> Case:
    lib = _value_archive(d)
    _patch_member_header(lib, "value.o", AR_TERMINATOR, b"XX")
    return Case(["start.o", "libvalue.a"], [("libvalue.a",)])


def undefined_symbol(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    call = "    .text\n    .globl {0}\n{0}:\n    call missing_function\n    ret\n"
    assemble(d, "user1.o", call.format("user1"), arch)
    assemble(d, "user2.o", call.format("user2"), arch)
    return Case(["start.o", "user1.o", "user2.o"], [("missing_function",), ("user1.o",),
                                                  ("user2.o",)], lines=0)


def duplicate_definition(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    assemble(d, "dup.o", "    .text\n    .globl helper\nhelper:\n    ret\n", arch)
    return Case(["start.o", "dup.o"], [("helper",), ("start.o",), ("dup.o",)])


def overflow_32(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    assemble(d, "big.o", "    .globl big\n    .set big, 0x123456789\n")
    assemble(d, "use32.o", "    .text\n    .globl use32\nuse32:\n    movl $big, %eax\n    ret\n")
    return Case(["start.o", "big.o", "use32.o"], [("use32.o",), (".text",), ("big",)])


def overflow_pc32(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    assemble(d, "far.o", "    .globl far\n    .set far, 0x7fff00000000\n")
    assemble(d, "callfar.o", "    .text\n    .globl callfar\ncallfar:\n    call far\n    ret\n")
    return Case(["start.o", "far.o", "callfar.o"], [("callfar.o",), (".text",), ("far",)])


def overflow_8(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    assemble(d, "small.o", "    .globl small\n    .set small, 0x1000\n", arch)
    assemble(d, "use8.o", "    .data\n    .globl use8\nuse8:\n    .byte small\n", arch)
    return Case(["start.o", "small.o", "use8.o"], [("use8.o",), (".data",), ("small",)])


def missing_library(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    return Case(["start.o", f"-L{d}", "-lnonexistent_lh"], [("nonexistent_lh",)])


def text_file_input(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    (d / "notes.txt").write_text("these are notes, not an object file\n")
    return Case(["start.o", "notes.txt"], [("notes.txt",)])


def binary_garbage_input(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    (d / "blob.o").write_bytes(bytes(range(256)) * 4)
    return Case(["start.o", "blob.o"], [("blob.o",)])


def missing_input_file(d: Path, arch: Arch) -> Case:
    _start(d, arch)
    return Case(["start.o", "absent.o"], [("absent.o",)])


Builder = Callable[[Path, Arch], Case]
BOTH_ARCHES: list[Builder] = [
    truncated_header, truncated_tail, garbage_shoff, section_past_eof, symbol_bad_section,
    reloc_bad_symbol, reloc_offset_past_end, reloc_unknown_type, wrong_machine, tls_relocation,
    undefined_symbol, duplicate_definition, overflow_8, missing_library, text_file_input,
    binary_garbage_input, missing_input_file,
]
# Archives are format-neutral (tested once); the 64-bit overflows need 64-bit addresses.
X86_64_ONLY: list[Builder] = [
    truncated_archive, archive_bad_member_size, archive_bad_header_terminator, overflow_32,
    overflow_pc32,
]
CASES = {(f.__name__, arch): f for f in BOTH_ARCHES for arch in ARCHES} | {
    (f.__name__, X86_64.name): f for f in X86_64_ONLY}


def _link(directory: Path, args: list[str], arch: Arch) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "linker", *arch.link_flags, "-e", "_start",
            "-o", str(directory / "prog"), *args]
    return subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_the_unpatched_base_links(arch: str, tmp_path: Path) -> None:
    _start(tmp_path, ARCHES[arch])
    proc = _link(tmp_path, ["start.o"], ARCHES[arch])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "prog").is_file()


def test_the_unbroken_archive_links(tmp_path: Path) -> None:
    _value_archive(tmp_path)
    proc = _link(tmp_path, ["start.o", "libvalue.a"], X86_64)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "prog").is_file()


@pytest.mark.parametrize(("name", "arch"), sorted(CASES))
def test_bad_input_is_one_clean_error(name: str, arch: str, tmp_path: Path) -> None:
    case = CASES[name, arch](tmp_path, ARCHES[arch])
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = _link(tmp_path, case.args, ARCHES[arch])
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "warning:" not in line]
    if case.lines:
        assert len(errors) == case.lines, proc.stderr
    else:
        assert errors, "no error line"
    text = "\n".join(errors)
    for alternatives in case.mentions:
        assert any(a in text for a in alternatives), f"none of {alternatives} in {text!r}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "output or temp file left"
