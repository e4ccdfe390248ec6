"""The emulated dynamic loader: runs ELF executables (x86-64 and i386) under Unicorn with
an emulated ld.so and a high-level emulated libc, bounded and fault-reporting.

    run(path, argv=None, env=None, *, bind="lazy"|"now", ...) -> RunResult
    RunResult(exit_code, stdout, stderr, trace, faults, instructions)
    TraceEntry(library, symbol, args)      Fault(kind, address, symbol, message)

Modules: run (entry, format dispatch), ldso (ELF load and link), loader (kernel-style
mapping and stack), dynamic (reading _DYNAMIC), binder (relocations, lazy resolver),
machine (Unicorn, dispatch, guest calls, faults), abi (calling conventions), libraries
(soname registry), libc_binding / startup / sorting / streams (the emulated libc),
libtrace (the recorder convention), syscalls, process (per-run state).
"""

from __future__ import annotations

from oracle.emulate.result import Fault, RunResult, TraceEntry
from oracle.emulate.run import run

__all__ = ["Fault", "RunResult", "TraceEntry", "run"]
