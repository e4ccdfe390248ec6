"""The emulated dyld: runs Mach-O executables, x86-64 and i386 (cdecl libSystem, the Darwin
i386 ABI's 16-byte stack alignment checked at every libSystem call), on the ELF emulator's
machine, with the emulated libc as libSystem and libtrace recorders as libtrace* dylibs.

    run_macho(data, invocation) -> RunResult      (oracle.emulate.run dispatches here)

Modules: image (bounds-checked reading of the file), opcodes (rebase and bind streams),
libraries (install name -> emulated dylib, Darwin names), darwin_libc, libsystem_extra and
compiler_rt (libSystem functions beyond the shared libc), binding (rebase, bind, the
indirect symbol table, dyld_stub_binder), start (stack, syscalls, entry), dyld (the load).
"""

from __future__ import annotations

from oracle.emulate.macho.dyld import run_macho

__all__ = ["run_macho"]
