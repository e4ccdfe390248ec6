"""The linker's own `start`, for LC_UNIXTHREAD outputs linked without an SDK's crt1.o.

An image entered through LC_UNIXTHREAD (classic mode, or a modern one for macOS before
10.8, which has no LC_MAIN) starts with no dyld call into main: the kernel's stack holds
argc, then argv[] and envp[], each NULL-ended, and crt1.o's `start` must call
main(argc, argv, envp) and exit() with its result.  clang passes `-lcrt1.10.6.o` for that;
there is no SDK here, so when nothing defines `start` the link adds this object, which does
crt1's job and nothing else (no atexit of its own, no `__progname` set-up: libSystem's
emulation provides those).

i386 (assembled with llvm-mc-14 -triple i386-apple-macosx10.6; 0x2d bytes):

    start:  pushl $0                  ; a null frame pointer ends backtraces
            movl  %esp, %ebp
            andl  $-16, %esp          ; the Darwin i386 ABI: 16-byte aligned at calls
            subl  $16, %esp
            movl  4(%ebp), %ebx       ; argc
            movl  %ebx, (%esp)
            leal  8(%ebp), %ecx       ; argv
            movl  %ecx, 4(%esp)
            leal  4(%ecx,%ebx,4), %edx; envp: past argv's argc entries and its NULL
            movl  %edx, 8(%esp)
            calll _main
            movl  %eax, (%esp)
            calll _exit
            hlt
"""

from __future__ import annotations

import numpy as np

from ..model import (
    RELOC_DTYPE,
    UNDEF,
    Binding,
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
    SymbolTable,
    SymType,
    Visibility,
)
from . import relocs_i386

START = "start"
PATH = "<linker: start>"
_I386_CODE = bytes.fromhex(
    "6a00" "89e5" "83e4f0" "83ec10" "8b5d04" "891c24" "8d4d08" "894c2404" "8d549904"
    "89542408" "e800000000" "890424" "e800000000" "f4")
_I386_CALLS = ((0x20, "_main"), (0x28, "_exit"))  # offsets of the calls' rel32 fields

# arch -> (code, its calls: offset of the rel32 field, callee); x86-64 has none (its
# classic links bring their own start, as the Darwin test suite's start.s).
STARTS: dict[str, tuple[bytes, tuple[tuple[int, str], ...]]] = {
    "i386": (_I386_CODE, _I386_CALLS),
}


def start_object(arch: str) -> ObjectFile | None:
    """The built-in `start` for `arch` as an input object, or None when there is none."""
    if arch not in STARTS:
        return None
    code, calls = STARTS[arch]
    howtos = relocs_i386.HOWTO_LIST
    call = relocs_i386.HOWTO_INDEX[(relocs_i386.VANILLA, 1, 2)]  # calll: PLT_PC, 4 bytes
    names = [START] + [name for _, name in calls]
    n = len(names)
    symbols = SymbolTable(
        names=names,
        value=np.zeros(n, np.uint64),
        size=np.array([len(code)] + [0] * (n - 1), np.uint64),
        section=np.array([1] + [UNDEF] * (n - 1), np.int32),
        binding=np.full(n, Binding.GLOBAL, np.uint8),
        type=np.array([SymType.FUNC] + [SymType.NOTYPE] * (n - 1), np.uint8),
        visibility=np.full(n, Visibility.DEFAULT, np.uint8))
    obj = ObjectFile(path=PATH, arch=arch, sections=[None], symbols=symbols, howtos=howtos)
    # PLT_PC: L + A - P with the field's end 4 bytes past P.
    rows = np.array([(at, call, k + 1, -4) for k, (at, _) in enumerate(calls)], RELOC_DTYPE)
    obj.sections.append(InputSection(obj, 1, "__TEXT,__text",
                                     SectionFlags.ALLOC | SectionFlags.EXEC, SectionRole.NORMAL,
                                     16, len(code), code, RelocTable(rows)))
    return obj
