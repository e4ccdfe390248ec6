"""`python -m linker.macho`: the linker with ld64's command-line spelling (the ld64 shim)."""

from ..process import ld64_main

ld64_main()
