"""Per-arch and per-target facts in plain records (mold's `struct X86_64`, as data).

The core asks these records, never `if arch == ...`, for pointer sizes, page sizes and the
native numbers of the dynamic relocations it must emit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DynamicRelocs:
    """Native numbers of the dynamic relocations an executable carries (an arch table)."""

    none: int
    abs_word: int  # R_X86_64_64 / R_386_32
    copy: int
    glob_dat: int
    jump_slot: int
    relative: int
    irelative: int  # R_X86_64_IRELATIVE / R_386_IRELATIVE: the slot gets resolver()


@dataclass(frozen=True, slots=True)
class ArchTraits:
    name: str
    word: int  # pointer size in bytes
    is_rela: bool  # RELA (explicit addends) or REL
    page_size: int
    image_base: int  # ET_EXEC base address
    plt0_size: int
    plt_entry_size: int
    got_plt_reserved: int  # .got.plt words reserved before the first lazy slot
    dyn: DynamicRelocs
    elf_machine: int
    elf_class: int  # 2 = ELFCLASS64, 1 = ELFCLASS32
    emulations: tuple[str, ...]  # GNU ld -m names
    dynamic_linker: str


X86_64 = ArchTraits(
    name="x86_64",
    word=8,
    is_rela=True,
    page_size=0x1000,
    image_base=0x400000,
    plt0_size=16,
    plt_entry_size=16,
    got_plt_reserved=3,
    dyn=DynamicRelocs(none=0, abs_word=1, copy=5, glob_dat=6, jump_slot=7, relative=8,
                      irelative=37),
    elf_machine=62,  # EM_X86_64
    elf_class=2,
    emulations=("elf_x86_64",),
    dynamic_linker="/lib64/ld-linux-x86-64.so.2",
)

I386 = ArchTraits(
    name="i386",
    word=4,
    is_rela=False,
    page_size=0x1000,
    image_base=0x8048000,
    plt0_size=16,
    plt_entry_size=16,
    got_plt_reserved=3,
    dyn=DynamicRelocs(none=0, abs_word=1, copy=5, glob_dat=6, jump_slot=7, relative=8,
                      irelative=42),
    elf_machine=3,  # EM_386
    elf_class=1,
    emulations=("elf_i386",),
    dynamic_linker="/lib/ld-linux.so.2",
)


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # --target spelling
    arch: ArchTraits
    format: str  # "elf" or "macho"


TARGETS: dict[str, Target] = {
    "elf64-x86-64": Target("elf64-x86-64", X86_64, "elf"),
    "elf32-i386": Target("elf32-i386", I386, "elf"),
    "macho-x86_64": Target("macho-x86_64", X86_64, "macho"),
}

EMULATION_TO_TARGET = {"elf_x86_64": "elf64-x86-64", "elf_i386": "elf32-i386"}
