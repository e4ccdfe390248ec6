"""The C library functions the emulated ld.so and dyld bind imports to, written in Python.

Everything here is pure: it sees the guest only through `oracle.emulate.guest`'s
`GuestMemory` and `VarArgs`, never Unicorn, so it runs the same under the CPU and in unit
tests on `flatmem.FlatMemory`.  Modules, one idea each:

    format      printf engine (fmtspec parses, fmtint/fmtfloat render)
    strings     str* functions          memory   mem* functions
    tokens      strspn/strcspn/strpbrk/strtok_r
    ctype       is*/to*, abs, labs, and glibc's ctype tables as bytes
    numbers     strtol family, atoi, atol (errno through an optional sink)
    rand        glibc's exact rand/srand sequence
    heap        malloc/calloc/realloc/free over a guest address range
    stdio       sprintf/snprintf and printf/puts/fwrite... against a core-owned Streams sink
    valist      VarArgs over a guest va_list (the v*printf functions)
    table       every function by C name, with arity and needs, for generic binding
    flatmem     FlatMemory and PackedArgs: bytearray-backed fakes for tests
    abi, reading    word-size integer conventions; page-wise bounded reads of guest strings
"""

from oracle.emulate.libc.format import format_printf
from oracle.emulate.libc.heap import Heap
from oracle.emulate.libc.stdio import Streams, render_printf
from oracle.emulate.libc.table import LibFunction, library

__all__ = ["Heap", "LibFunction", "Streams", "format_printf", "library", "render_printf"]
