"""The emulated dynamic loader: runs ELF executables (x86-64 and i386) under Unicorn with
an emulated ld.so and a high-level emulated libc, bounded and fault-reporting.

    run(path, argv=None, env=None, *, bind="lazy"|"now", seed=None, ...) -> RunResult
    RunResult(exit_code, stdout, stderr, trace, faults, instructions, seed)
    TraceEntry(library, symbol, args)      Fault(kind, address, symbol, message)

Modules: run (entry, format dispatch), ldso (one ELF run), loader (kernel-style mapping
and stack), thread (thread pointer, TLS), linking (the DT_NEEDED closure, relocation order,
initialisers), scope (global symbol lookup, versions), binder (one object's relocations,
lazy resolver), sharedobj (real .so files), dynamic (reading _DYNAMIC), machine (Unicorn,
dispatch, guest calls, faults), abi (calling conventions), calls (how library functions
are written), libraries (soname registry), libc_binding / startup / sorting / streams /
environment / signals / jumps / ctype_tables / scanf / tls (the emulated libc and the
ld.so entry points), libm, libtrace (the recorder convention), syscalls, process (per-run
state), symbols (naming addresses), result (RunResult, TraceEntry, Fault), cli
(`linkharness run`).
"""

from __future__ import annotations

from oracle.emulate.result import Fault, RunResult, TraceEntry
from oracle.emulate.run import run

__all__ = ["Fault", "RunResult", "TraceEntry", "run"]
