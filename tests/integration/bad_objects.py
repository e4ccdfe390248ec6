"""Good inputs made with `as`/gcc, and the byte patches that break them one rule at a time.

Every bad input starts from an object that links cleanly (the suite checks that too), so a
link error can only come from the one field the patch changed.  Offsets of headers, symbols
and relocations are found with pyelftools and rewritten with `struct`, for ELF64 (x86-64,
RELA) and ELF32 (i386, REL) alike.
"""

from __future__ import annotations

import io
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection


@dataclass(frozen=True)
class Arch:
    """One ELF class: how to assemble for it, how to ask linkharness to link it, and where
    the fields the patches touch sit in its records (System V gABI layouts)."""

    name: str
    as_flag: str
    link_flags: tuple[str, ...]
    start: str
    word: str            # struct code of an address-sized field
    e_shoff: int
    sh_offset: int
    st_shndx: int
    r_info: int          # offset of r_info inside Elf_Rel(a); r_offset is at 0
    sym_shift: int       # r_info = sym << sym_shift | type


E_MACHINE = 0x12
EM_ARM = 40

# The base program: a global call and an absolute or RIP-relative load of a global, so the
# .text relocation section has entries to break; no libc, so it links with `-e _start` alone.
X86_64 = Arch("x86_64", "--64", (), """
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
""", "Q", 0x28, 0x18, 6, 8, 32)
I386 = Arch("i386", "--32", ("-m", "elf_i386"), """
    .text
    .globl _start
_start:
    call helper
    movl value, %ebx
    movl $1, %eax
    int $0x80
    .globl helper
helper:
    ret
    .data
    .globl value
value:
    .long 3
""", "I", 0x20, 0x10, 14, 4, 8)
ARCHES = {a.name: a for a in (X86_64, I386)}

# X86_64's start without `value`, and an object defining it, for the archive cases.
NEEDS_VALUE_S = X86_64.start.replace(".globl value\nvalue:\n    .long 3\n", "")
VALUE_S = "    .data\n    .globl value\nvalue:\n    .long 3\n    .globl filler\nfiller:\n" \
          "    .fill 256, 1, 0x5a\n"
EXTRA_S = "    .text\n    .globl extra\nextra:\n    ret\n"


def assemble(directory: Path, name: str, text: str, arch: Arch = X86_64) -> Path:
    """Assemble `text` into directory/name with GNU as."""
    source = directory / (Path(name).stem + ".s")
    source.write_text(text)
    output = directory / name
    subprocess.run(["as", arch.as_flag, "-o", str(output), str(source)], check=True)
    source.unlink()
    return output


def compile_c(directory: Path, name: str, text: str, arch: Arch = X86_64,
              flags: tuple[str, ...] = ("-fno-pie",)) -> Path:
    """Compile C `text` into the object directory/name (non-PIC unless `flags` say, -O1)."""
    source = directory / (Path(name).stem + ".c")
    source.write_text(text)
    output = directory / name
    machine = ["-m32"] if arch is I386 else []
    subprocess.run(["gcc", *machine, "-c", "-O1", *flags, "-o", str(output), str(source)],
                   check=True)
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
    """A relocatable object read into memory, patched field by field, written back."""

    def __init__(self, path: Path, arch: Arch) -> None:
        self.path = path
        self.arch = arch
        self.data = bytearray(path.read_bytes())
        self.elf = ELFFile(io.BytesIO(bytes(self.data)))

    def save(self) -> Path:
        self.path.write_bytes(bytes(self.data))
        return self.path

    def truncate(self, size: int) -> None:
        del self.data[size:]

    def _set(self, fmt: str, offset: int, value: int) -> None:
        struct.pack_into("<" + fmt, self.data, offset, value)

    def section_index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.elf.iter_sections()) if s.name == name)

    def set_machine(self, machine: int) -> None:
        self._set("H", E_MACHINE, machine)

    def set_shoff(self, value: int) -> None:
        self._set(self.arch.word, self.arch.e_shoff, value)

    def set_section_offset(self, name: str, value: int) -> None:
        header = int(self.elf["e_shoff"]) + self.section_index(name) * int(self.elf["e_shentsize"])
        self._set(self.arch.word, header + self.arch.sh_offset, value)

    def set_symbol_section(self, name: str, shndx: int) -> None:
        symtab = self.elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        index = next(i for i, s in enumerate(symtab.iter_symbols()) if s.name == name)
        entry = int(symtab["sh_offset"]) + index * int(symtab["sh_entsize"])
        self._set("H", entry + self.arch.st_shndx, shndx)

    def text_relocs(self) -> RelocationSection:
        """The relocation section for .text (.rela.text or .rel.text)."""
        for name in (".rela.text", ".rel.text"):
            section = self.elf.get_section_by_name(name)
            if isinstance(section, RelocationSection):
                return section
        raise LookupError("no relocations for .text")

    def _reloc_at(self, index: int) -> int:
        section = self.text_relocs()
        return int(section["sh_offset"]) + index * int(section["sh_entsize"])

    def reloc_info(self, index: int) -> tuple[int, int]:
        """(symbol index, type) of .text relocation `index`."""
        entry = self.text_relocs().get_relocation(index)
        return int(entry["r_info_sym"]), int(entry["r_info_type"])

    def set_reloc_info(self, index: int, symbol: int, rtype: int) -> None:
        info = (symbol << self.arch.sym_shift) | rtype
        self._set(self.arch.word, self._reloc_at(index) + self.arch.r_info, info)

    def set_reloc_offset(self, index: int, value: int) -> None:
        self._set(self.arch.word, self._reloc_at(index), value)


# The 60-byte System V ar member header: the decimal size field sits at bytes 48..57, and
# the two bytes "`\n" end it.
AR_MAGIC_LEN, AR_SIZE_FIELD, AR_TERMINATOR = 8, 48, 58


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
