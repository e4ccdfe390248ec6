"""The emulated ld.so for ELF: load the executable as the kernel would, bind it to the
emulated libraries as ld.so would, and run it.  Static executables (no PT_INTERP and no
PT_DYNAMIC) start at e_entry with only system calls to talk to.
"""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from unicorn import UcError

from oracle.emulate import elfimage
from oracle.emulate.abi import I386, X86_64
from oracle.emulate.dynamic import DynamicError
from oracle.emulate.elfimage import ElfImage, ImageError
from oracle.emulate.guest import GuestFault, LoadTimeout
from oracle.emulate.layout import LAYOUT_32, LAYOUT_64, aligned_base, draw_bases
from oracle.emulate.linking import link_program
from oracle.emulate.loader import LoadError, build_stack, map_image
from oracle.emulate.machine import Limits, Machine
from oracle.emulate.process import Process
from oracle.emulate.result import Fault, RunResult
from oracle.emulate.scope import LoadFault
from oracle.emulate.streams import create_standard_streams
from oracle.emulate.symbols import AddressSpaceSymbols, Symbolizer
from oracle.emulate.syscalls import make_syscall_handler
from oracle.emulate.thread import set_up_thread


@dataclass(frozen=True)
class Invocation:
    """What to run and how."""

    path: str
    argv: list[bytes]
    env: list[bytes]
    lazy: bool
    limits: Limits
    stdin: bytes
    library_names: dict[str, frozenset[str]]  # soname -> names its real file defines
    library_dirs: list[Path]  # where real shared libraries are looked for first
    seed: int = 0  # draws the load bases of the PIE and of the real shared libraries


def run_elf(data: bytes, inv: Invocation) -> RunResult:
    image = elfimage.parse(data)
    abi = X86_64 if image.elfclass == 64 else I386
    machine = Machine(abi, inv.limits, *_library_region(abi.word))
    try:
        return _run(machine, data, image, inv)
    finally:
        machine.close()


def _library_region(word: int) -> tuple[int, int]:
    layout = LAYOUT_64 if word == 8 else LAYOUT_32
    return layout.lib_code, layout.lib_code_size


def _run(machine: Machine, data: bytes, image: ElfImage, inv: Invocation) -> RunResult:
    abi = machine.abi
    layout = LAYOUT_64 if abi.word == 8 else LAYOUT_32
    bases = draw_bases(layout, abi.word, inv.seed)
    bias = aligned_base(bases.pie, [s.align for s in image.loads()]) \
        if image.e_type == elfimage.ET_DYN else 0
    machine.symbolizer = AddressSpaceSymbols(Symbolizer(data, bias))
    process = Process(machine, layout.lib_data, layout.lib_data_size, layout.heap,
                      inv.limits.memory_cap, inv.stdin)
    machine.process = process
    machine.syscall = make_syscall_handler(process)

    def ended(fault: Fault) -> RunResult:
        return RunResult(None, bytes(process.out[1]), bytes(process.out[2]), machine.trace,
                         [fault], machine.instructions, inv.seed)

    try:
        brk = map_image(machine.mem, image, bias, inv.limits.memory_cap)
        process.brk_start = process.brk = process.brk_mapped = brk
        sp, argv, envp = build_stack(machine.mem, abi, image, bias, layout.stack_top,
                                     layout.stack_size, inv.argv, inv.env,
                                     os.fsencode(inv.path))
        process.argc, process.argv, process.envp = len(inv.argv), argv, envp
        process.tls = set_up_thread(machine, image, bias, layout.tls)
        create_standard_streams(process)
        start = link_program(machine, process, image, data, bias, path=inv.path,
                             lazy=inv.lazy, dirs=inv.library_dirs, env=inv.env,
                             library_names=inv.library_names,
                             library_base=bases.library)
    except LoadFault as err:
        return ended(err.fault)
    except (LoadError, DynamicError, ImageError, OSError) as err:
        return ended(Fault("load", 0, None, str(err)))
    except LoadTimeout:
        return ended(machine.loading_timeout())
    except GuestFault as err:
        return ended(Fault("load", err.address, machine.symbol_at(err.address),
                           f"while loading: {err.message}"))
    except (UcError, struct.error, ValueError, UnicodeError, IndexError, OverflowError,
            MemoryError) as err:
        return ended(Fault("load", 0, None, f"malformed executable: {err!r}"))
    machine.uc.reg_write(abi.sp_reg, sp)
    exit_code, faults = machine.run(start)
    return RunResult(exit_code, bytes(process.out[1]), bytes(process.out[2]), machine.trace,
                     faults, machine.instructions, inv.seed)


def defined_names(path: Path | str, st: os.stat_result | None = None) -> frozenset[str]:
    """The dynamic symbols a real shared library defines (to split names between several
    libtrace libraries as their real files do).  Cached per file version (`st`, the
    file's stat when the caller has it): a fuzz session runs thousands of programs against
    the same few libraries."""
    st = os.stat(path) if st is None else st
    return _defined_names(os.fspath(path), st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=64)
def _defined_names(path: str, size: int, mtime_ns: int, inode: int) -> frozenset[str]:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as handle:
        section = ELFFile(handle).get_section_by_name(".dynsym")
        if section is None:
            return frozenset()
        return frozenset(s.name for s in section.iter_symbols()  # type: ignore[attr-defined]
                         if s.name and s["st_shndx"] != "SHN_UNDEF")
