"""Good inputs made with `as`/gcc, and the byte patches that break them one rule at a time.

Every bad input starts from an object that links cleanly (the suite checks that too), so a
link error can only come from the one field the patch changed.  Offsets of headers, symbols
and relocations are found with pyelftools and rewritten with `struct`.
"""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

# The base program: a global call (R_X86_64_PLT32) and a RIP-relative load (R_X86_64_PC32)
# in .text, so .rela.text has entries to break; no libc, so it links with `-e _start` alone.
START_S = """
    .text
    .globl _start
_start:
    call helper
    movl value(%rip), %edi
    movl $60, %eax
    syscall
    .globl helper
helper:
    ret
    .data
    .globl value
value:
    .long 3
"""
# A libc-free object that defines `value` for the archive cases (START_S's twin without it).
NEEDS_VALUE_S = START_S.replace(".globl value\nvalue:\n    .long 3\n", "")
VALUE_S = "    .data\n    .globl value\nvalue:\n    .long 3\n    .globl filler\nfiller:\n" \
          "    .fill 256, 1, 0x5a\n"
EXTRA_S = "    .text\n    .globl extra\nextra:\n    ret\n"


def assemble(directory: Path, name: str, text: str) -> Path:
    """Assemble `text` into directory/name with GNU as (x86-64)."""
    source = directory / (Path(name).stem + ".s")
    source.write_text(text)
    output = directory / name
    subprocess.run(["as", "--64", "-o", str(output), str(source)], check=True)
    source.unlink()
    return output


def compile_c(directory: Path, name: str, text: str) -> Path:
    """Compile C `text` into the object directory/name (non-PIC, -O1)."""
    source = directory / (Path(name).stem + ".c")
    source.write_text(text)
    output = directory / name
    subprocess.run(["gcc", "-c", "-O1", "-fno-pie", "-o", str(output), str(source)], check=True)
    source.unlink()
    return output


def archive(directory: Path, name: str, members: list[Path]) -> Path:
    """`ar rcs` the members into directory/name (with a symbol index), removing the members."""
    output = directory / name
    subprocess.run(["ar", "rcs", str(output), *map(str, members)], check=True)
    for member in members:
        member.unlink()
    return output


class ElfPatch:
    """An ELF64 relocatable object read into memory, to be patched and written back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = bytearray(path.read_bytes())
        self.elf = ELFFile(io.BytesIO(bytes(self.data)))

    def save(self) -> Path:
        self.path.write_bytes(bytes(self.data))
        return self.path

    def set(self, fmt: str, offset: int, *values: int) -> None:
        struct.pack_into("<" + fmt, self.data, offset, *values)

    def section_header(self, name: str) -> int:
        """File offset of the section header of `name`."""
        index = next(i for i, s in enumerate(self.elf.iter_sections()) if s.name == name)
        return int(self.elf["e_shoff"]) + index * int(self.elf["e_shentsize"])

    def symbol_entry(self, name: str) -> int:
        """File offset of the Elf64_Sym of `name` in .symtab."""
        symtab = self.elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        index = next(i for i, s in enumerate(symtab.iter_symbols()) if s.name == name)
        return int(symtab["sh_offset"]) + index * int(symtab["sh_entsize"])

    def rela_entry(self, section: str, index: int) -> tuple[int, int, int]:
        """(file offset, r_sym, r_type) of relocation `index` in RELA section `section`."""
        rela = self.elf.get_section_by_name(section)
        assert isinstance(rela, RelocationSection)
        entry = rela.get_relocation(index)
        offset = int(rela["sh_offset"]) + index * int(rela["sh_entsize"])
        return offset, int(entry["r_info_sym"]), int(entry["r_info_type"])


# Offsets inside the fixed-size ELF64 records (System V gABI).
E_MACHINE, E_SHOFF = 0x12, 0x28
SH_OFFSET = 0x18
ST_SHNDX = 6
R_OFFSET, R_INFO = 0, 8
# The 60-byte System V ar member header: the decimal size field sits at bytes 48..57.
AR_MAGIC_LEN, AR_SIZE_FIELD = 8, 48


def ar_members(data: bytes) -> list[tuple[int, str, int]]:
    """(header offset, raw name, size) of every member of a System V archive."""
    members: list[tuple[int, str, int]] = []
    pos = AR_MAGIC_LEN
    while pos + 60 <= len(data):
        name = data[pos:pos + 16].decode().rstrip()
        size = int(data[pos + AR_SIZE_FIELD:pos + AR_SIZE_FIELD + 10].decode())
        members.append((pos, name, size))
        pos += 60 + size + (size & 1)
    return members
