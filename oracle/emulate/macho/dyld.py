"""The emulated dyld: load a Mach-O executable (x86-64, or i386 on the 32-bit machine with
cdecl libSystem) as xnu and dyld would, bind it to the emulated dylibs, and run it on the
ELF emulator's machine.

Segments are mapped with their initprot at their link addresses, plus the slide for an
MH_PIE executable (oracle.emulate.macho.slide); a segment
with no access (__PAGEZERO) stays unmapped, so a null dereference faults.  Then the
binder rebases, binds and (with bind="now" or MH_BIND_AT_LOAD) binds lazy pointers too,
and the program starts at LC_MAIN's main or LC_UNIXTHREAD's rip (eip).  The process has
the thread-specific data area at the gs base and the commpage (darwin_process); an access
outside everything emulated is reported with what is missing there.
"""

from __future__ import annotations

import bisect
import os
import struct
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from unicorn import UcError

from oracle.emulate.abi import I386_DARWIN, X86_64
from oracle.emulate.guest import GuestFault, LoadTimeout
from oracle.emulate.layout import LAYOUT_32, LAYOUT_64, AddressLayout
from oracle.emulate.ldso import Invocation
from oracle.emulate.machine import Machine
from oracle.emulate.macho import darwin_process, dlopen, tlv
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.binding import Binder, DyldFault
from oracle.emulate.macho.dylib_images import Slides
from oracle.emulate.macho.image import MachOError, MachOImage
from oracle.emulate.macho.loader import ImageLoader
from oracle.emulate.macho.slide import load_address
from oracle.emulate.macho.start import Start, build_stack, darwin_syscalls, enter
from oracle.emulate.memory import PAGE, UcMemory, page_up
from oracle.emulate.process import Process
from oracle.emulate.result import Fault, RunResult
from oracle.emulate.streams import create_standard_streams

MAX_DISTANCE = 0x10000  # farther than this from any symbol: no name
S_MOD_INIT_FUNC_POINTERS = 9
MAX_MAPPED = 1 << 30  # more than this is a corrupt size, not a program under test
# The stack below the commpage (0x7fffffe00000), where macOS puts it; the ELF layout's
# top of the address space would cover the commpage.  i386's commpage (0xffff0000) is
# above its stack already.
MACHO_LAYOUT_64 = replace(LAYOUT_64, stack_top=0x7FF7C0000000)
MACHO_LAYOUT_32 = LAYOUT_32


def _is_i386(data: bytes) -> bool:
    """An MH_MAGIC (32-bit) file: run on the i386 machine (the parse judges the rest)."""
    return data[:4] == mi.MH_MAGIC.to_bytes(4, "little")


def run_macho(data: bytes, inv: Invocation) -> RunResult:
    i386 = _is_i386(data)
    layout = MACHO_LAYOUT_32 if i386 else MACHO_LAYOUT_64
    machine = Machine(I386_DARWIN if i386 else X86_64, inv.limits, layout.lib_code,
                      layout.lib_code_size)
    try:
        return _run(machine, data, inv, layout)
    finally:
        machine.close()  # at once: a run that failed to load holds its CPU till then


def _run(machine: Machine, data: bytes, inv: Invocation, layout: AddressLayout) -> RunResult:
    process = Process(machine, layout.lib_data, layout.lib_data_size, layout.heap,
                      inv.limits.memory_cap, inv.stdin)
    machine.process = process
    darwin_syscalls(process)

    def ended(fault: Fault) -> RunResult:
        return RunResult(None, bytes(process.out[1]), bytes(process.out[2]), machine.trace,
                         [fault], machine.instructions, inv.seed)

    try:
        img = load_address(mi.parse(data))  # slid when MH_PIE, as the kernel loads it
        machine.symbolizer = _symbolizer(img)
        _check_runnable(img)
        brk = _map_segments(machine.mem, img)
        process.brk_start = process.brk = process.brk_mapped = brk
        areas = darwin_process.set_up(machine, process, layout.tls)
        machine.explain_access = darwin_process.explainer(areas, _pagezero_end(img),
                                                          machine.symbolizer)
        sp, argv, envp, apple = build_stack(machine.mem, layout.stack_top, layout.stack_size,
                                            inv.argv, inv.env, os.fsencode(inv.path), img.word)
        process.argc, process.argv, process.envp = len(inv.argv), argv, envp
        create_standard_streams(process)
        loader, binders = _load_dylibs(machine, process, img, inv, layout)
        for binder in binders:  # the dylibs deepest first, the executable last
            binder.bind_at_load(inv.lazy and not binder.img.flags & mi.MH_BIND_AT_LOAD)
        loader.coalesce_all()  # dyld's weak binding, once every image is bound
        loader.next_tlv_key = tlv.set_up_images(
            machine, process, [img, *(b.img for b in binders if b.img is not img)])
        initializers = tuple(i for b in binders for i in _initializers(machine.mem, b.img))
        start = Start(sp, len(inv.argv), argv, envp, apple, initializers,
                      _entry(img), img.main_entryoff is not None)
        pc = enter(machine, start, "/usr/lib/dyld")
    except DyldFault as err:
        return ended(err.fault)
    except MachOError as err:
        return ended(Fault("load", 0, None, str(err)))
    except LoadTimeout:
        return ended(machine.loading_timeout())
    except GuestFault as err:
        return ended(Fault("load", err.address, machine.symbol_at(err.address),
                           f"while loading: {err.message}"))
    except (UcError, struct.error, ValueError, UnicodeError, IndexError, OverflowError,
            MemoryError) as err:
        return ended(Fault("load", 0, None, f"malformed executable: {err!r}"))
    exit_code, faults = machine.run(pc)
    return RunResult(exit_code, bytes(process.out[1]), bytes(process.out[2]), machine.trace,
                     faults, machine.instructions, inv.seed)


def _pagezero_end(img: MachOImage) -> int:
    zero = img.segment_named("__PAGEZERO")
    return zero.vmaddr + zero.vmsize if zero is not None else 0


def _check_runnable(img: MachOImage) -> None:
    if img.is64 and img.cputype != mi.CPU_TYPE_X86_64:
        raise MachOError("header", f"cputype {img.cputype:#x} is not CPU_TYPE_X86_64")
    if not img.is64 and img.cputype != mi.CPU_TYPE_I386:
        raise MachOError("header", f"cputype {img.cputype:#x} of a 32-bit file is not "
                                   "CPU_TYPE_I386")
    if img.filetype != mi.MH_EXECUTE:
        raise MachOError("header", f"filetype {img.filetype} is not MH_EXECUTE")


def _map_segments(mem: UcMemory, img: MachOImage) -> int:
    """Map every accessible segment with its initprot; returns the end of the highest one."""
    perms: dict[int, int] = {}
    mapped = []
    for seg in img.segments:
        if not seg.vmsize or not seg.initprot & 7:
            continue  # __PAGEZERO and the like: reserved, never mapped
        if seg.vmaddr % PAGE:
            raise MachOError(seg.name, f"vmaddr {seg.vmaddr:#x} is not page-aligned")
        if seg.filesize > seg.vmsize:
            raise MachOError(seg.name, "filesize is larger than vmsize")
        img.bytes_at(seg.fileoff, seg.filesize, f"segment {seg.name}")
        if seg.vmsize > MAX_MAPPED or len(perms) * PAGE + seg.vmsize > MAX_MAPPED:
            raise MachOError(seg.name, f"vmsize {seg.vmsize:#x}: the segments would map more "
                                       f"than {MAX_MAPPED >> 20} MiB")
        prot = seg.initprot & 7  # VM_PROT_READ/WRITE/EXECUTE are Unicorn's bits too
        for page in range(seg.vmaddr, page_up(seg.vmaddr + seg.vmsize), PAGE):
            if page in perms:
                raise MachOError(seg.name, f"overlaps another segment at {page:#x}")
            perms[page] = prot
        mapped.append(seg)
    if not mapped:
        raise MachOError("segments", "no segment to map")
    try:
        mem.map_pages(perms)
    except UcError as err:
        raise MachOError("segments", f"cannot map: {err}") from err
    for seg in mapped:
        mem.write_initial(seg.vmaddr, img.data[seg.fileoff : seg.fileoff + seg.filesize])
    return max(page_up(s.vmaddr + s.vmsize) for s in mapped)


def _load_dylibs(machine: Machine, process: Process, main: MachOImage, inv: Invocation,
                 layout: AddressLayout) -> tuple[ImageLoader, list[Binder]]:
    """Every dylib the executable needs, breadth first: emulated (libSystem, libtrace*) or
    a real file, mapped slid (loader.py).  Returns the loader (which dlopen goes on using)
    and a binder per real image, in the order dyld binds and initialises them: the dylibs
    deepest first, the executable last."""
    executable_dir = Path(inv.path).parent
    # run.py appends the executable's directory last: the loader's own fallback
    search = inv.library_dirs[:-1] if inv.library_dirs[-1:] == [executable_dir] \
        else list(inv.library_dirs)
    loader = ImageLoader(machine, process, main, executable_dir, search,
                         Slides(layout.libraries, main.word, inv.seed), inv.lazy,
                         _map_segments, _check_compatible)
    binders = loader.load_launch()
    dlopen.attach(process, loader)
    previous = machine.symbolizer
    named = [(r.dylib.install_name.rsplit("/", 1)[-1], r.dylib.img, _symbolizer(r.dylib.img))
             for r in loader.order]

    def symbol(addr: int) -> str | None:
        for name, image, nearest in named:
            if image.segment_at(addr) is not None:
                found = nearest(addr)
                return f"{name}`{found}" if found else name
        return previous(addr)

    machine.symbolizer = symbol
    return loader, binders


def _check_compatible(image: MachOImage, wanted: mi.Dylib) -> None:
    """dyld's check: the dylib's compatibility version is at least the one the image that
    loads it was linked against ("Incompatible library version")."""
    have = image.dylib_id.compatibility_version if image.dylib_id is not None else 0
    if have < wanted.compatibility_version:
        raise DyldFault(Fault("load", 0, None, (
            f"{wanted.install_name}: incompatible library version: compatibility version "
            f"{_version(wanted.compatibility_version)} is required, the file found provides "
            f"{_version(have)}")))


def _version(packed: int) -> str:
    return f"{packed >> 16}.{packed >> 8 & 0xFF}.{packed & 0xFF}"


def _initializers(mem: UcMemory, img: MachOImage) -> tuple[int, ...]:
    """The pointers of every S_MOD_INIT_FUNC_POINTERS section, read after rebasing."""
    out: list[int] = []
    for sect in img.sections():
        if sect.type == S_MOD_INIT_FUNC_POINTERS:
            seg = img.segment_at(sect.addr, max(sect.size, 1))
            if seg is None or not seg.initprot & 7:
                raise MachOError(sect.name, "initializer pointers outside a mapped segment")
            raw = mem.read(sect.addr, sect.size - sect.size % img.word)
            out += [v for (v,) in struct.iter_unpack("<Q" if img.is64 else "<I", raw)]
    return tuple(out)


def _entry(img: MachOImage) -> int:
    if img.main_entryoff is not None:
        return img.header_address() + img.main_entryoff
    if img.thread_rip is not None:
        return img.thread_rip
    raise MachOError("entry", "neither LC_MAIN nor an LC_UNIXTHREAD with an x86_THREAD_STATE64 "
                              "(x86_THREAD_STATE32 for i386) state")


def _symbolizer(img: MachOImage) -> Callable[[int], str | None]:
    """Names addresses in faults: the nearest preceding defined symbol (read on demand)."""
    table: list[tuple[int, str]] = []
    loaded = False

    def name(addr: int) -> str | None:
        nonlocal loaded, table
        if not loaded:
            loaded = True
            try:
                table = sorted({(s.value, s.name) for s in img.symbols()
                                if s.defined_in_section and s.name})
            except MachOError:
                table = []
        index = bisect.bisect_right(table, (addr, "\U0010ffff")) - 1
        if index < 0 or addr - table[index][0] > MAX_DISTANCE:
            return None
        base, sym = table[index]
        return sym if addr == base else f"{sym}+{addr - base:#x}"

    return name
