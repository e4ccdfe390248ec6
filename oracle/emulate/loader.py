"""What the kernel's ELF loader does: map each PT_LOAD with its permissions (page
granular, later segments winning a shared page as later mmaps do), zero the bss, and
build the initial stack: argc, argv, envp and the auxiliary vector.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from unicorn import UC_PROT_READ, UC_PROT_WRITE

from oracle.emulate.abi import Abi
from oracle.emulate.elfimage import PT_GNU_RELRO, ElfImage
from oracle.emulate.memory import PAGE, UcMemory, page_down, page_up, prot_from_flags
from oracle.regular_file import FileTooLarge, read_regular

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_EXECFN = 23, 25, 31
RANDOM_BYTES = bytes(range(0x10, 0x20))  # AT_RANDOM: fixed, so runs are reproducible


class LoadError(Exception):
    """The segments cannot be mapped (overlap with the emulator's regions, bad sizes)."""


def read_capped(path: str | os.PathLike[str], memory_cap: int) -> bytes:
    """The file's bytes; LoadError when it cannot be read, is not a regular file, or is
    larger than the run's memory cap (a run that read it would allocate past its cap before
    mapping anything)."""
    try:
        return read_regular(path, limit=memory_cap)
    except FileTooLarge as e:
        raise LoadError(f"{os.fspath(path)}: file of {e.size} bytes is larger than the run's "
                        f"memory cap ({memory_cap} bytes)") from None
    except OSError as e:  # missing, a directory, a FIFO or device: a load fault, not a hang
        raise LoadError(f"{os.fspath(path)}: cannot read: {e.strerror}") from None


def map_image(mem: UcMemory, image: ElfImage, bias: int, memory_cap: int) -> int:
    """Map the PT_LOAD segments at bias; returns the page-aligned end (the initial brk).

    The image counts against the run's `memory_cap`: segments that would need more are
    refused before a page is mapped (a hostile p_memsz would otherwise have the page loop
    below, and zeroing the bss, take as long and as much memory as it likes)."""
    perms: dict[int, int] = {}
    loads = image.loads()
    if not loads:
        raise LoadError("no PT_LOAD segment")
    address_limit = 1 << image.elfclass
    needed = 0
    for seg in loads:
        if seg.filesz > seg.memsz:
            raise LoadError(f"segment at {seg.vaddr:#x}: p_filesz > p_memsz")
        if seg.offset + seg.filesz > len(image.data):
            raise LoadError(f"segment at {seg.vaddr:#x} extends past the end of the file")
        if (seg.offset - seg.vaddr) % PAGE:
            raise LoadError(f"segment at {seg.vaddr:#x}: p_offset and p_vaddr differ mod page")
        if seg.vaddr + bias + seg.memsz > address_limit:
            raise LoadError(f"segment at {seg.vaddr:#x} of {seg.memsz:#x} bytes runs past the "
                            f"{image.elfclass}-bit address space")
        needed += page_up(seg.vaddr + bias + seg.memsz) - page_down(seg.vaddr + bias)
        if needed > memory_cap:
            raise LoadError(f"segments need {needed:#x} bytes or more, past the run's memory "
                            f"cap of {memory_cap:#x}")
    for seg in loads:
        start, end = page_down(seg.vaddr + bias), page_up(seg.vaddr + bias + seg.memsz)
        for page in range(start, end, PAGE):
            perms[page] = prot_from_flags(seg.flags)
    relro = image.first(PT_GNU_RELRO)
    breaks = frozenset() if relro is None else frozenset(
        {page_down(relro.vaddr + bias), page_down(relro.vaddr + bias + relro.memsz)})
    try:
        mem.map_pages(perms, breaks)
    except Exception as err:
        raise LoadError(f"cannot map segments: {err}") from err
    for seg in loads:
        # The file's pages are mapped whole (so bytes between segments on a shared page are
        # the file's); only the tail past p_filesz of a segment with bss is zeroed.
        vaddr = seg.vaddr + bias
        file_start = seg.offset - (vaddr - page_down(vaddr))
        file_end = seg.offset + seg.filesz
        if seg.memsz == seg.filesz:
            file_end = min(len(image.data), seg.offset + (page_up(vaddr + seg.filesz) - vaddr))
        mem.write_initial(page_down(vaddr), image.data[file_start:file_end])
        if seg.memsz > seg.filesz:
            zero_from = vaddr + seg.filesz
            mem.write_initial(zero_from, bytes(page_up(vaddr + seg.memsz) - zero_from))
    return max(page_up(s.vaddr + bias + s.memsz) for s in loads)


def exec_strings_fit(argv: Sequence[bytes], envp: Sequence[bytes], word: int,
                     stack_size: int) -> None:
    """Linux's execve refuses (E2BIG) argument and environment strings, with their
    pointers, past a quarter of the stack limit; so does the emulator, before it lays out
    anything, however many strings a caller hands it."""
    size = sum(len(a) + 1 + word for a in argv) + sum(len(e) + 1 + word for e in envp)
    if size > stack_size // 4:
        raise LoadError(f"arguments and environment of {size} bytes with their pointers "
                        f"exceed a quarter of the {stack_size}-byte stack (E2BIG)")


def _string_block(mem: UcMemory, end: int, items: Sequence[bytes]) -> tuple[int, list[int]]:
    """Write `items` (NUL-terminated, in order) to end just below `end`; their start and
    each string's address."""
    block = b"\0".join(items) + b"\0" if items else b""
    start = end - len(block)
    if block:
        mem.write(start, block)
    at, addresses = start, []
    for item in items:
        addresses.append(at)
        at += len(item) + 1
    return start, addresses


def build_stack(
    mem: UcMemory,
    abi: Abi,
    image: ElfImage,
    bias: int,
    stack_top: int,
    stack_size: int,
    argv: list[bytes],
    envp: list[bytes],
    execfn: bytes,
) -> tuple[int, int, int]:
    """Map the stack and lay out the process's start as Linux does; returns
    (sp, address of argv[0] pointer, address of envp[0] pointer)."""
    w = abi.word
    exec_strings_fit(argv, envp, w, stack_size)
    mem.map(stack_top - stack_size, stack_size, UC_PROT_READ | UC_PROT_WRITE)
    cursor = stack_top - w  # the kernel leaves a NULL word at the very top
    cursor -= len(execfn) + 1
    execfn_at = cursor
    mem.write(execfn_at, execfn + b"\0")
    # each vector's strings as one block, its first string lowest (as Linux copies them);
    # one write each: a write and a list insert per string took 193 s for 10**6 arguments
    cursor, env_at = _string_block(mem, cursor, envp)
    cursor, arg_at = _string_block(mem, cursor, argv)
    platform = b"x86_64" if w == 8 else b"i686"
    cursor -= len(platform) + 1
    platform_at = cursor
    mem.write(platform_at, platform + b"\0")
    cursor = (cursor - 16) & ~15
    random_at = cursor
    mem.write(random_at, RANDOM_BYTES)
    # In the order Linux's create_elf_tables writes them (there is no vDSO here).
    auxv = [
        (AT_HWCAP, 0), (AT_PAGESZ, PAGE), (AT_CLKTCK, 100),
        (AT_PHDR, image.phdr_vaddr() + bias), (AT_PHENT, image.phentsize),
        (AT_PHNUM, len(image.segments)), (AT_BASE, 0), (AT_FLAGS, 0),
        (AT_ENTRY, image.entry + bias), (AT_UID, 1000), (AT_EUID, 1000), (AT_GID, 1000),
        (AT_EGID, 1000), (AT_SECURE, 0), (AT_RANDOM, random_at), (AT_EXECFN, execfn_at),
        (AT_PLATFORM, platform_at), (AT_NULL, 0),
    ]
    words = [len(argv), *arg_at, 0, *env_at, 0]
    for key, value in auxv:
        words += [key, value]
    sp = (cursor - w * len(words)) & ~15
    mem.write(sp, abi.pack_words(words))
    return sp, sp + w, sp + w * (len(argv) + 2)
