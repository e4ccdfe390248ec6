"""Per-arch and per-target facts in plain records (mold's `struct X86_64`, as data).

The core asks these records, never `if arch == ...`, for pointer sizes, page sizes and the
native numbers of the dynamic relocations it must emit.
"""

from __future__ import annotations

import functools
import operator
import struct
from typing import Any

from .records import dataclass


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
    # TLS in a shared object: the module id and offset of a variable (general and local
    # dynamic GOT pairs), and its offset from the thread pointer (initial exec).
    dtpmod: int = 0
    dtpoff: int = 0
    tpoff: int = 0


@dataclass(frozen=True, slots=True)
class MachoTraits:
    """What a Mach-O MH_EXECUTE of this arch looks like where the word size shows."""

    cputype: int
    cpusubtype: int
    magic: int  # MH_MAGIC (32-bit) or MH_MAGIC_64
    header_size: int  # mach_header: 28, mach_header_64: 32 (a reserved word)
    segment_cmd: int  # LC_SEGMENT or LC_SEGMENT_64
    segment_size: int  # the segment command without its sections: 56 or 72
    section_size: int  # section: 68, section_64: 80
    nlist: str  # struct format of one symbol: 12 or 16 bytes
    base: int  # where __TEXT (and the header) is mapped; __PAGEZERO covers below
    thread_flavor: int  # LC_UNIXTHREAD: x86_THREAD_STATE32 (1) or x86_THREAD_STATE64 (4)
    thread_count: int  # its size in 32-bit words: 16 or 42
    thread_pc: int  # index of eip / rip among the state's registers
    got_section: str  # where non-lazy pointers go in modern output: __got or __nl_symbol_ptr
    # Minimum macOS version from which the modern output's entry is LC_MAIN (dyld calls
    # main); below it, LC_UNIXTHREAD enters a crt1-style `start`.
    lc_main_min_os: int
    # Whether absolute pointers in __TEXT are normal: i386 has no pc-relative data
    # addressing, so its code holds addresses (`movl $_f, %eax`), and such an image is
    # written without MH_PIE (never slid), as ld64 does; x86-64 modern output refuses them.
    text_pointers: bool
    bfd_name: str  # the output format as GNU's text map names it (mach-o-x86-64)
    # Whether LC_DYLD_CHAINED_FIXUPS has a pointer format for this arch (64-bit only here)
    chained_fixups: bool
    # Classic LC_DYSYMTAB relocations: their plain pointer type (X86_64_RELOC_UNSIGNED,
    # GENERIC_RELOC_VANILLA: both 0), and whether r_address counts from the first writable
    # segment (x86_64) or from the first segment (i386): dyld's getRelocBase.
    pointer_reloc: int
    reloc_base_writable: bool


@dataclass(frozen=True, slots=True)
class ElfLayout:
    """ELF's word-sized records for one ELF class: their sizes, struct formats and field
    orders (Elf32_Sym and Elf32_Phdr order their fields differently from the 64-bit
    ones), so that the writers pack by asking this record instead of testing the word."""

    header_format: str  # Elf_Ehdr after e_ident: e_type ... e_shstrndx
    header_size: int
    program_header_format: str
    program_header_fields: tuple[str, ...]  # Phdr's fields in file order
    program_header_size: int
    section_header_format: str  # Shdr: the same field order in both classes
    section_header_size: int
    symbol_format: str
    symbol_fields: tuple[str, ...]  # Sym's fields in file order
    symbol_size: int
    rel_format: str  # r_offset, r_info
    rela_format: str  # r_offset, r_info, r_addend
    dynamic_format: str  # one Elf_Dyn: d_tag, d_val
    word_format: str  # one unsigned address-sized word ("Q" or "I", no byte order)
    # r_info = symbol << info_shift | type (ELF64_R_INFO: 32, ELF32_R_INFO: 8)
    info_shift: int
    # Elf_Chdr of a compressed section: Elf64_Chdr has a reserved word after ch_type
    compression_header_format: str
    compression_header_fields: tuple[str, ...]

    @property
    def rel_size(self) -> int:
        return struct.calcsize(self.rel_format)

    @property
    def rela_size(self) -> int:
        return struct.calcsize(self.rela_format)

    @property
    def dynamic_size(self) -> int:
        return struct.calcsize(self.dynamic_format)

    def r_info(self, symbol: int, rtype: int) -> int:
        return symbol << self.info_shift | rtype

    def pack_symbol(self, **fields: int) -> bytes:
        """One symbol from name, info, other, shndx, value, size."""
        return struct.pack(self.symbol_format, *_in_order(self.symbol_fields)(fields))

    def pack_compression_header(self, **fields: int) -> bytes:
        """One Elf_Chdr from type, reserved, size, addralign."""
        return struct.pack(self.compression_header_format,
                           *_in_order(self.compression_header_fields)(fields))

    def pack_program_header(self, **fields: int) -> bytes:
        """One Phdr from type, flags, offset, vaddr, paddr, filesz, memsz, align."""
        return struct.pack(self.program_header_format,
                           *_in_order(self.program_header_fields)(fields))


@functools.lru_cache(maxsize=16)
def _in_order(names: tuple[str, ...]) -> operator.itemgetter[Any]:
    """Keyword fields -> a record's values in file order (one itemgetter per order, not a
    generator per record: .dynsym and the program headers pack dozens per link)."""
    return operator.itemgetter(*names)


ELF64 = ElfLayout(
    header_format="<HHIQQQIHHHHHH", header_size=64,
    program_header_format="<IIQQQQQQ", program_header_size=56,
    program_header_fields=("type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz",
                           "align"),
    section_header_format="<IIQQQQIIQQ", section_header_size=64,
    symbol_format="<IBBHQQ", symbol_size=24,
    symbol_fields=("name", "info", "other", "shndx", "value", "size"),
    rel_format="<QQ", rela_format="<QQq", dynamic_format="<qQ", word_format="Q",
    info_shift=32, compression_header_format="<IIQQ",
    compression_header_fields=("type", "reserved", "size", "addralign"),
)
ELF32 = ElfLayout(
    header_format="<HHIIIIIHHHHHH", header_size=52,
    program_header_format="<IIIIIIII", program_header_size=32,
    program_header_fields=("type", "offset", "vaddr", "paddr", "filesz", "memsz", "flags",
                           "align"),
    section_header_format="<IIIIIIIIII", section_header_size=40,
    symbol_format="<IIIBBH", symbol_size=16,
    symbol_fields=("name", "value", "size", "info", "other", "shndx"),
    rel_format="<II", rela_format="<IIi", dynamic_format="<iI", word_format="I",
    info_shift=8, compression_header_format="<III",
    compression_header_fields=("type", "size", "addralign"),
)


_WORD_CODES = {4: "I", 8: "Q"}


def word_format(word: int) -> str:
    """The struct code of an unsigned word of `word` bytes (4: "I", 8: "Q")."""
    return _WORD_CODES[word]


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
    elf: ElfLayout
    elf_bfd_name: str  # GNU's name of the ELF output format (elf64-x86-64, elf32-i386)
    # Addresses the linker's int64 arrays and the output's fields can hold: x86-64's stop
    # below 2**63, i386's at 2**32.
    address_bits: int
    # .eh_frame's section type in an ELF object (x86-64's psABI: SHT_X86_64_UNWIND)
    eh_frame_type: int
    # i386's PIC PLT entries and .iplt entries are not position-independent the way
    # x86-64's are: a PIC PLT entry reads the GOT base from %ebx (so it cannot be a
    # function's canonical address in a PIE), and an .iplt entry jumps through its slot
    # absolutely (so it cannot be in a PIE at all), nor is there a static .rel.iplt.
    plt_reads_got_register: bool = False
    iplt_slot_absolute: bool = False
    # How code reaches a GOT slot: rip-relative (x86-64), or from a base register holding
    # the GOT's address, G + A - GOT (i386), which GOT-load relaxation must tell apart
    got_pc_relative: bool = True
    macho: MachoTraits | None = None

    @property
    def dynamic_reloc_size(self) -> int:
        """One .rela.dyn / .rel.dyn entry of this arch (RELA or REL)."""
        return self.elf.rela_size if self.is_rela else self.elf.rel_size

    @property
    def word_bits(self) -> int:
        return 8 * self.word


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
                      irelative=37, dtpmod=16, dtpoff=17, tpoff=18),
    elf_machine=62,  # EM_X86_64
    elf_class=2,
    emulations=("elf_x86_64",),
    dynamic_linker="/lib64/ld-linux-x86-64.so.2",
    elf=ELF64,
    elf_bfd_name="elf64-x86-64",
    address_bits=63,
    eh_frame_type=0x70000001,  # SHT_X86_64_UNWIND
    macho=MachoTraits(
        cputype=0x01000007, cpusubtype=0x80000003,  # CPU_SUBTYPE_X86_64_ALL | LIB64
        magic=0xFEEDFACF, header_size=32, segment_cmd=0x19, segment_size=72, section_size=80,
        nlist="<IBBHQ", base=0x100000000, thread_flavor=4, thread_count=42, thread_pc=16,
        got_section="__DATA,__got",
        lc_main_min_os=0,  # always LC_MAIN in modern mode (every x86-64 test targets 10.9+)
        text_pointers=False, bfd_name="mach-o-x86-64", chained_fixups=True,
        pointer_reloc=0, reloc_base_writable=True,
    ),
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
                      irelative=42, dtpmod=35, dtpoff=36, tpoff=14),
    elf_machine=3,  # EM_386
    elf_class=1,
    emulations=("elf_i386",),
    dynamic_linker="/lib/ld-linux.so.2",
    elf=ELF32,
    elf_bfd_name="elf32-i386",
    address_bits=32,
    eh_frame_type=1,  # SHT_PROGBITS
    plt_reads_got_register=True,
    iplt_slot_absolute=True,
    got_pc_relative=False,
    macho=MachoTraits(
        cputype=7, cpusubtype=3,  # CPU_TYPE_I386, CPU_SUBTYPE_I386_ALL
        magic=0xFEEDFACE, header_size=28, segment_cmd=0x1, segment_size=56, section_size=68,
        nlist="<IBBHI", base=0x1000, thread_flavor=1, thread_count=16, thread_pc=10,
        got_section="__DATA,__nl_symbol_ptr",  # ld64's name for i386 non-lazy pointers
        lc_main_min_os=0x000A0800,  # LC_MAIN is 10.8's
        text_pointers=True, bfd_name="mach-o-i386", chained_fixups=False,
        pointer_reloc=0, reloc_base_writable=False,
    ),
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
    "macho-i386": Target("macho-i386", I386, "macho"),
}
# ld64's -arch spelling -> target
MACHO_ARCH_TO_TARGET = {"x86_64": "macho-x86_64", "i386": "macho-i386"}

EMULATION_TO_TARGET = {"elf_x86_64": "elf64-x86-64", "elf_i386": "elf32-i386"}
# ObjectFile.arch (a reader's name for the machine) -> its record
ARCHES: dict[str, ArchTraits] = {a.name: a for a in (X86_64, I386)}


def arch_of(name: str) -> ArchTraits:
    """An object's arch record; an object without a machine (--defsym's, arch "") gets
    the widest, whose words and addresses hold any other's."""
    return ARCHES.get(name, X86_64)
