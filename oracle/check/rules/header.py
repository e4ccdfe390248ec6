"""ELF header rules: identification, machine, type and table entry sizes."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import BINFMT, GABI, PSABI_I386, PSABI_X86_64, Finding, rule

TOPIC = "header"

# machine -> (class, data encoding) the psABI prescribes
_MACHINES = {
    c.EM_X86_64: (c.ELFCLASS64, c.ELFDATA2LSB, PSABI_X86_64),
    c.EM_386: (c.ELFCLASS32, c.ELFDATA2LSB, PSABI_I386),
}


@rule("ELF-HDR-VERSION", TOPIC, "EI_VERSION and e_version must be EV_CURRENT", GABI)
def version(img: ElfImage) -> Iterator[Finding]:
    h = img.header
    if h.version != c.EV_CURRENT:
        yield "e_ident[EI_VERSION]", f"is {h.version}, expected {c.EV_CURRENT}"
    if h.e_version != c.EV_CURRENT:
        yield "e_version", f"is {h.e_version}, expected {c.EV_CURRENT}"


@rule("ELF-HDR-MACHINE", TOPIC,
      "e_machine is x86-64 or i386 and EI_CLASS/EI_DATA are the ones its psABI prescribes",
      f"{PSABI_X86_64}, {PSABI_I386}")
def machine(img: ElfImage) -> Iterator[Finding]:
    h = img.header
    want = _MACHINES.get(h.machine)
    if want is None:
        yield "e_machine", f"{h.machine} is neither EM_X86_64 nor EM_386"
        return
    cls, data, _ = want
    if h.elf_class != cls:
        yield "e_ident[EI_CLASS]", (f"ELFCLASS{32 * h.elf_class} does not match e_machine "
                                   f"{h.machine} (needs ELFCLASS{32 * cls})")
    if h.data != data:
        yield "e_ident[EI_DATA]", "big-endian data encoding on a little-endian machine"


@rule("ELF-HDR-TYPE", TOPIC, "an executable is ET_EXEC or ET_DYN", BINFMT)
def file_type(img: ElfImage) -> Iterator[Finding]:
    if img.header.type not in (c.ET_EXEC, c.ET_DYN):
        yield "e_type", f"{img.header.type} is neither ET_EXEC nor ET_DYN"


@rule("ELF-HDR-SIZES", TOPIC,
      "e_ehsize, e_phentsize and e_shentsize equal the sizes of the class's structures",
      GABI)
def sizes(img: ElfImage) -> Iterator[Finding]:
    h = img.header
    ehsize, phent, shent = (64, 56, 64) if img.is64 else (52, 32, 40)
    if h.ehsize != ehsize:
        yield "e_ehsize", f"is {h.ehsize}, expected {ehsize}"
    if h.phnum and h.phentsize != phent:
        yield "e_phentsize", f"is {h.phentsize}, expected {phent}"
    if h.shnum and h.shentsize != shent:
        yield "e_shentsize", f"is {h.shentsize}, expected {shent}"
    if h.shnum and h.shstrndx >= h.shnum:
        yield "e_shstrndx", f"{h.shstrndx} is not below e_shnum {h.shnum}"


@rule("ELF-HDR-TABLES", TOPIC,
      "the program header table exists and both header tables lie inside the file", BINFMT)
def tables(img: ElfImage) -> Iterator[Finding]:
    h = img.header
    size = len(img.data)
    if h.phnum == 0:
        yield "e_phnum", "no program headers: the kernel has nothing to map"
    elif h.phoff + h.phnum * h.phentsize > size:
        yield "e_phoff", (f"program headers [{h.phoff:#x}, +{h.phnum * h.phentsize:#x}) "
                         f"run past end of file ({size:#x})")
    if h.shoff and h.shoff + h.shnum * h.shentsize > size:
        yield "e_shoff", (f"section headers [{h.shoff:#x}, +{h.shnum * h.shentsize:#x}) "
                         f"run past end of file ({size:#x})")
