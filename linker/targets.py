"""Per-arch and per-target facts in plain records (mold's `struct X86_64`, as data).

The core asks these records, never `if arch == ...`, for pointer sizes, page sizes and the
native numbers of the dynamic relocations it must emit.
"""

from __future__ import annotations

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
    macho: MachoTraits | None = None


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
    macho=MachoTraits(
        cputype=0x01000007, cpusubtype=0x80000003,  # CPU_SUBTYPE_X86_64_ALL | LIB64
        magic=0xFEEDFACF, header_size=32, segment_cmd=0x19, segment_size=72, section_size=80,
        nlist="<IBBHQ", base=0x100000000, thread_flavor=4, thread_count=42, thread_pc=16,
        got_section="__DATA,__got",
        lc_main_min_os=0,  # always LC_MAIN in modern mode (every x86-64 test targets 10.9+)
        text_pointers=False,
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
    macho=MachoTraits(
        cputype=7, cpusubtype=3,  # CPU_TYPE_I386, CPU_SUBTYPE_I386_ALL
        magic=0xFEEDFACE, header_size=28, segment_cmd=0x1, segment_size=56, section_size=68,
        nlist="<IBBHI", base=0x1000, thread_flavor=1, thread_count=16, thread_pc=10,
        got_section="__DATA,__nl_symbol_ptr",  # ld64's name for i386 non-lazy pointers
        lc_main_min_os=0x000A0800,  # LC_MAIN is 10.8's
        text_pointers=True,
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
