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

from typing import Any

__all__ = ["run_macho"]


def __getattr__(name: str) -> Any:
    """run_macho on first use: `linkharness run` imports this package for fat.py on every
    run, and the dyld's modules are a third of the emulator's import time, which an ELF run
    (and a Mach-O run before it needs them) should not pay."""
    if name == "run_macho":
        from oracle.emulate.macho.dyld import run_macho

        return run_macho
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
