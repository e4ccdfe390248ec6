"""Putting a dynamically linked program together, as ld.so does before the program runs:
load the DT_NEEDED closure breadth first (emulated libraries by name, real shared objects
from files), relocate the libraries and then the executable in one global scope, seal
RELRO, and run the libraries' initialisers before the executable's entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path

from unicorn import x86_const as x

from oracle.emulate import dynamic as dt
from oracle.emulate import elfimage
from oracle.emulate.binder import DynamicLinker
from oracle.emulate.calls import JUMPED, GuestCall, _Jumped
from oracle.emulate.dynamic import Dynamic
from oracle.emulate.elfimage import ElfImage
from oracle.emulate.libraries import library_for
from oracle.emulate.machine import Machine
from oracle.emulate.process import Process
from oracle.emulate.result import Fault
from oracle.emulate.scope import LoadedObject, LoadFault, Member, Scope
from oracle.emulate.sharedobj import find_library, load_library, search_dirs


def link_program(machine: Machine, process: Process, image: ElfImage, data: bytes, bias: int,
                 *, path: str, lazy: bool, dirs: list[Path], env: list[bytes],
                 library_names: dict[str, frozenset[str]],
                 library_base: Callable[[int], int]) -> int:
    """Bind the executable; returns where to start (its entry, or the initialiser runner
    of its real libraries, which then jumps to the entry).  `library_base(n)`: where the
    n-th real library loads."""
    entry = image.entry + bias
    dyn_seg = image.first(elfimage.PT_DYNAMIC)
    if dyn_seg is None or image.interp() is None:
        # Static, or a static PIE (gcc -static-pie: PT_DYNAMIC, no PT_INTERP): the kernel
        # starts it with nothing bound, and a static PIE relocates itself and seals its
        # RELRO (glibc's _dl_relocate_static_pie).  Sealing it first faulted the program's
        # own relocation; relocating it first would add the bias twice to i386's REL words.
        return entry
    dyn = Dynamic(machine.mem, machine.abi.word, dyn_seg.vaddr + bias, dyn_seg.memsz, bias)
    process.program = dyn
    exe = LoadedObject("<executable>", path, dyn, 0, 0, is_executable=True)
    exe.data = data
    if process.tls is not None and 1 in process.tls.offsets:  # module 1: the executable's
        exe.tls_module, exe.tls_offset = 1, process.tls.offsets[1]
    members: list[Member] = [exe]
    real: list[LoadedObject] = []
    queue = [exe]
    seen: set[str] = set()
    while queue:
        needing = queue.pop(0)
        for soname in needing.dyn.needed_names():
            if soname in seen:
                continue
            seen.add(soname)
            emulated = library_for(soname, machine.abi.word, library_names.get(soname))
            if emulated is not None:
                members.append(emulated)
                continue
            found = find_library(soname, search_dirs(needing, dirs, env))
            if found is None:
                raise LoadFault(Fault("load", 0, None, f"{soname}: no emulated library and "
                                      "no file of that name in the library path"))
            lib = load_library(machine, found, library_base(len(real)),
                               soname, process.tls)
            members.append(lib)
            real.append(lib)
            queue.append(lib)
    scope = Scope(machine, process, members)
    relro = image.first(elfimage.PT_GNU_RELRO)
    if relro is not None:
        exe.relro = (relro.vaddr + bias, relro.memsz)
    irelative: list[tuple[int, int]] = []
    for obj in [*reversed(real), exe]:  # a library's data is final before a COPY reads it
        linker = DynamicLinker(machine, process, obj, scope)
        linker.relocate(lazy)
        irelative += linker.irelative
        if obj.relro is not None:
            linker.protect_relro(*obj.relro)
    process.library_finis = [lib.dyn for lib in real]
    if not irelative and not any(lib.dyn.get(dt.DT_INIT) or lib.dyn.get(dt.DT_INIT_ARRAYSZ)
                                 for lib in real):
        return entry
    return _initialiser(machine, process, real, entry, irelative)


def _initialiser(machine: Machine, process: Process, libs: list[LoadedObject],
                 entry: int, irelative: list[tuple[int, int]]) -> int:
    """An intercepted address that applies the IRELATIVE relocations (calls each IFUNC
    resolver and stores its result in the slot, as ld.so does while relocating), runs each
    library's DT_INIT and DT_INIT_ARRAY (dependencies first) with (argc, argv, envp), then
    enters the program with the stack exactly as the kernel left it."""
    abi = machine.abi

    def steps(start_sp: int) -> Generator[GuestCall, int, _Jumped]:
        args = (process.argc, process.argv, process.envp)
        for slot, resolver in irelative:
            chosen = yield GuestCall(resolver, ())
            # the slot may lie in RELRO, sealed already: write as ld.so's relocation does
            machine.mem.write_initial(slot, abi.pack(chosen))
        for lib in reversed(libs):
            if lib.dyn.get(dt.DT_INIT):
                yield GuestCall(lib.dyn.get(dt.DT_INIT), args)
            for func in lib.dyn.array(dt.DT_INIT_ARRAY, dt.DT_INIT_ARRAYSZ):
                yield GuestCall(func, args)
        machine.uc.reg_write(abi.sp_reg, start_sp)
        machine.uc.reg_write(x.UC_X86_REG_RDX if abi.word == 8 else x.UC_X86_REG_EDX, 0)
        machine.uc.reg_write(abi.pc_reg, entry)
        return JUMPED

    return machine.add_handler(
        lambda: machine.start_generator(steps(abi.sp(machine.uc)), "ld.so", "_dl_init"),
        "<_dl_init>")
