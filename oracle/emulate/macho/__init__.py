"""The emulated dyld: runs 64-bit Mach-O executables (x86-64) on the ELF emulator's machine,
with the emulated libc as libSystem and libtrace recorders as libtrace* dylibs.

    run_macho(data, invocation) -> RunResult      (oracle.emulate.run dispatches here)

Modules: image (bounds-checked reading of the file), opcodes (rebase and bind streams),
libraries (install name -> emulated dylib, Darwin names), binding (rebase, bind, the
indirect symbol table, dyld_stub_binder), start (stack, syscalls, entry), dyld (the load).
"""

from __future__ import annotations

from oracle.emulate.macho.dyld import run_macho

__all__ = ["run_macho"]
