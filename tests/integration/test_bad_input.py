"""Bad input through the CLI: one error line naming where and what, exit 1, no output file.

DESIGN.md: "a malformed object, archive or stub gives a LinkError naming the file, the section
or offset, and the rule broken; the CLI prints one line and exits 1. No partial output file is
ever left behind."  Each case builds a good input, breaks one thing, and runs
`python -m linker` on it in a directory of its own; afterwards that directory must hold
exactly the inputs (no output, no temporary file).
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
    E_MACHINE,
    E_SHOFF,
    EXTRA_S,
    NEEDS_VALUE_S,
    R_INFO,
    R_OFFSET,
    SH_OFFSET,
    ST_SHNDX,
    START_S,
    VALUE_S,
    ElfPatch,
    ar_members,
    archive,
    assemble,
    compile_c,
)


@dataclass(frozen=True)
class Case:
    """Link arguments, and what the error must mention: each entry is a set of alternatives,
    at least one of which must appear (e.g. a section by name or by index)."""

    args: list[str]
    mentions: list[tuple[str, ...]]
    lines: int = 1


def _start(d: Path) -> ElfPatch:
    return ElfPatch(assemble(d, "start.o", START_S))


def truncated_header(d: Path) -> Case:
    p = _start(d)
    p.path.write_bytes(bytes(p.data[:40]))
    return Case(["start.o"], [("start.o",)])


def truncated_tail(d: Path) -> Case:
    p = _start(d)
    p.path.write_bytes(bytes(p.data[: len(p.data) - 100]))
    return Case(["start.o"], [("start.o",)])


def garbage_shoff(d: Path) -> Case:
    p = _start(d)
    p.set("Q", E_SHOFF, 0xDEAD_BEEF_0)
    p.save()
    return Case(["start.o"], [("start.o",), ("0xdeadbeef0", "section header")])


def section_past_eof(d: Path) -> Case:
    p = _start(d)
    index = next(i for i, s in enumerate(p.elf.iter_sections()) if s.name == ".text")
    p.set("Q", p.section_header(".text") + SH_OFFSET, len(p.data) + 0x1000)
    p.save()
    return Case(["start.o"], [("start.o",), (".text", f"[{index}]")])


def symbol_bad_section(d: Path) -> Case:
    p = _start(d)
    p.set("H", p.symbol_entry("helper") + ST_SHNDX, 0x7FF0)
    p.save()
    return Case(["start.o"], [("start.o",), ("helper",)])


def reloc_bad_symbol(d: Path) -> Case:
    p = _start(d)
    offset, _, rtype = p.rela_entry(".rela.text", 0)
    p.set("Q", offset + R_INFO, (9999 << 32) | rtype)
    p.save()
    return Case(["start.o"], [("start.o",), (".text",), ("9999",)])


def reloc_offset_past_end(d: Path) -> Case:
    p = _start(d)
    offset, _, _ = p.rela_entry(".rela.text", 1)
    p.set("Q", offset + R_OFFSET, 0x10000)
    p.save()
    return Case(["start.o"], [("start.o",), (".text",), ("0x10000",)])


def reloc_unknown_type(d: Path) -> Case:
    p = _start(d)
    offset, sym, _ = p.rela_entry(".rela.text", 0)
    p.set("Q", offset + R_INFO, (sym << 32) | 200)
    p.save()
    return Case(["start.o"], [("start.o",), (".text",), ("200",)])


def tls_relocation(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    compile_c(d, "tls.o", "__thread int x = 1;\nint f(void) { return x; }\n")
    return Case(["start.o", "tls.o"], [("tls.o",), ("TLS", "thread-local", "thread local")])


def _value_archive(d: Path) -> Path:
    assemble(d, "start.o", NEEDS_VALUE_S)
    members = [assemble(d, "extra.o", EXTRA_S), assemble(d, "value.o", VALUE_S)]
    return archive(d, "libvalue.a", members)


def truncated_archive(d: Path) -> Case:
    lib = _value_archive(d)
    data = lib.read_bytes()
    lib.write_bytes(data[: len(data) - 200])  # cuts into value.o, the member start.o needs
    return Case(["start.o", "libvalue.a"], [("libvalue.a",)])


def archive_bad_member_size(d: Path) -> Case:
    lib = _value_archive(d)
    data = bytearray(lib.read_bytes())
    header = next(pos for pos, name, _ in ar_members(bytes(data)) if name.startswith("extra.o"))
    data[header + AR_SIZE_FIELD:header + AR_SIZE_FIELD + 10] = b"12x4      "
    lib.write_bytes(bytes(data))
    return Case(["start.o", "libvalue.a"], [("libvalue.a",)])


def archive_bad_header_terminator(d: Path) -> Case:
    lib = _value_archive(d)
    data = bytearray(lib.read_bytes())
    header = next(pos for pos, name, _ in ar_members(bytes(data)) if name.startswith("value.o"))
    data[header + 58:header + 60] = b"XX"  # the "`\n" that ends every member header
    lib.write_bytes(bytes(data))
    return Case(["start.o", "libvalue.a"], [("libvalue.a",)])


def wrong_machine(d: Path) -> Case:
    p = _start(d)
    p.set("H", E_MACHINE, 40)  # EM_ARM
    p.save()
    return Case(["start.o"], [("start.o",), ("machine",)])


def undefined_symbol(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    call = "    .text\n    .globl {0}\n{0}:\n    call missing_function\n    ret\n"
    assemble(d, "user1.o", call.format("user1"))
    assemble(d, "user2.o", call.format("user2"))
    return Case(["start.o", "user1.o", "user2.o"], [("missing_function",), ("user1.o",),
                                                  ("user2.o",)], lines=0)


def duplicate_definition(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    assemble(d, "dup.o", "    .text\n    .globl helper\nhelper:\n    ret\n")
    return Case(["start.o", "dup.o"], [("helper",), ("start.o",), ("dup.o",)])


def overflow_32(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    assemble(d, "big.o", "    .globl big\n    .set big, 0x123456789\n")
    assemble(d, "use32.o", "    .text\n    .globl use32\nuse32:\n    movl $big, %eax\n    ret\n")
    return Case(["start.o", "big.o", "use32.o"], [("use32.o",), (".text",), ("big",)])


def overflow_8(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    assemble(d, "small.o", "    .globl small\n    .set small, 0x1000\n")
    assemble(d, "use8.o", "    .data\n    .globl use8\nuse8:\n    .byte small\n")
    return Case(["start.o", "small.o", "use8.o"], [("use8.o",), (".data",), ("small",)])


def overflow_pc32(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    assemble(d, "far.o", "    .globl far\n    .set far, 0x7fff00000000\n")
    assemble(d, "callfar.o", "    .text\n    .globl callfar\ncallfar:\n    call far\n    ret\n")
    return Case(["start.o", "far.o", "callfar.o"], [("callfar.o",), (".text",), ("far",)])


def missing_library(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    return Case(["start.o", f"-L{d}", "-lnonexistent_lh"], [("nonexistent_lh",)])


def text_file_input(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    (d / "notes.txt").write_text("these are notes, not an object file\n")
    return Case(["start.o", "notes.txt"], [("notes.txt",)])


def binary_garbage_input(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    (d / "blob.o").write_bytes(bytes(range(256)) * 4)
    return Case(["start.o", "blob.o"], [("blob.o",)])


def missing_input_file(d: Path) -> Case:
    assemble(d, "start.o", START_S)
    return Case(["start.o", "absent.o"], [("absent.o",)])


CASES: dict[str, Callable[[Path], Case]] = {f.__name__: f for f in (
    truncated_header, truncated_tail, garbage_shoff, section_past_eof, symbol_bad_section,
    reloc_bad_symbol, reloc_offset_past_end, reloc_unknown_type, tls_relocation,
    truncated_archive, archive_bad_member_size, archive_bad_header_terminator, wrong_machine,
    undefined_symbol, duplicate_definition, overflow_32, overflow_8, overflow_pc32, missing_library, text_file_input, binary_garbage_input,
    missing_input_file,
)}


def _link(directory: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "linker", "-e", "_start", "-o", str(directory / "prog"), *args]
    return subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_unpatched_base_links(tmp_path: Path) -> None:
    _start(tmp_path)
    proc = _link(tmp_path, ["start.o"])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "prog").is_file()


def test_the_unbroken_archive_links(tmp_path: Path) -> None:
    _value_archive(tmp_path)
    proc = _link(tmp_path, ["start.o", "libvalue.a"])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "prog").is_file()


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clean_error(name: str, tmp_path: Path) -> None:
    case = CASES[name](tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = _link(tmp_path, case.args)
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
