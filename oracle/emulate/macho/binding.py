"""What dyld does between mapping and entry: rebase, bind (from LC_DYLD_INFO opcodes, or
through the indirect symbol table for classic files without dyld info), and bind lazy
pointers on first call through `dyld_stub_binder`.

dyld_stub_binder is an intercepted address, bound wherever the file binds that name
(the modern __got slot __stub_helper jumps through).  On entry the helper has pushed the
lazy-bind offset and then the address of the image's private word (`lea dyld_private,
%r11; push %r11`; on i386 `pushl $dyld_private`), so [sp] is that address, [sp+w] the
offset and [sp+2w] the return address of the original call (w the word size).  The binder
checks the private word lies in a writable segment, interprets the lazy-bind opcodes from
the offset up to their DONE, checks that the entry binds the very pointer the caller's stub
jumped through (when the call site is a direct `call stub`), writes the slot, pops both
words and continues at the target, so the call returns to its caller.  Any inconsistency
is a Fault, never a silent success.

i386: Darwin's ABI keeps esp 16-byte aligned at every call (libSystem's SSE code relies on
it), so every libSystem function checks on entry that esp + 4 is a multiple of 16; a
misaligned call is a "misaligned-stack" fault naming the call site.
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export, LibResult
from oracle.emulate.machine import Machine, RunStop
from oracle.emulate.macho import chained, relocations
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.coalesce import WEAK_LOOKUP, WeakSite
from oracle.emulate.macho.dylib_images import ImageDylib
from oracle.emulate.macho.image import MachOImage, Segment, Symbol
from oracle.emulate.macho.libraries import STUB_BINDER, Dylib, LibSystem
from oracle.emulate.macho.opcodes import (
    BIND_TYPE_POINTER,
    REBASE_TYPE_POINTER,
    REBASE_TYPE_TEXT_ABSOLUTE32,
    Bind,
    OpcodeError,
    decode_binds,
    decode_rebases,
)
from oracle.emulate.macho.slide import slide_of
from oracle.emulate.process import Process
from oracle.emulate.result import Fault

N_WEAK_REF = 0x40
ORDINAL_SELF, ORDINAL_EXECUTABLE, ORDINAL_FLAT = 0, -1, -2
Library = Dylib | ImageDylib  # emulated (libSystem, libtrace) or a real dylib's image


class DyldFault(Exception):
    """Loading cannot complete (dyld would abort the launch)."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.describe())
        self.fault = fault


class Binder:
    def __init__(self, machine: Machine, process: Process, img: MachOImage,
                 dylibs: list[Library], *, executable: ImageDylib | None = None,
                 flat: list[Library] | None = None, text_rebases: bool = False) -> None:
        """`dylibs` by library ordinal; `executable` what EXECUTABLE_ORDINAL names (a
        dylib's or bundle's main executable); `flat` where flat lookup searches (the
        executable, then every image in load order; default `dylibs`); `text_rebases`:
        rebases may write a read-only segment (an i386 dylib's code holds addresses, and
        dyld made __TEXT writable for them on i386)."""
        self.machine = machine
        self.process = process
        self.img = img
        self.dylibs = dylibs
        self.executable = executable
        self.flat = dylibs if flat is None else flat
        self.text_rebases = text_rebases
        self.mem = machine.mem
        self.word = img.word
        self.slide = slide_of(img)  # what rebases and local relocations add
        self.stub_binder = machine.add_handler(self._bind_lazily, f"<{STUB_BINDER}>")
        self._symbols = img.symbols()
        self._own = {s.name: s.value for s in self._symbols
                     if s.defined_in_section and s.type & mi.N_EXT}
        self._functions: dict[tuple[str, str], int] = {}
        # the sites dyld's weak coalescing rewrites once every image is bound (coalesce.py)
        self.weak_sites: list[WeakSite] = []
        info = img.dyld_info
        self._lazy = img.bytes_at(*info.lazy_bind, "lazy bind opcodes") if info else b""

    # -- resolution --

    def address_of(self, ordinal: int, symbol: str, weak: bool, site: int) -> int:
        if symbol == STUB_BINDER:
            return self.stub_binder
        candidates: list[Library] = []
        if ordinal in (ORDINAL_SELF, ORDINAL_EXECUTABLE):
            if ordinal == ORDINAL_EXECUTABLE and self.executable is not None:
                candidates = [self.executable]
            elif symbol in self._own:
                return self._own[symbol]
        elif ordinal == ORDINAL_FLAT:
            candidates = list(self.flat)
        elif 1 <= ordinal <= len(self.dylibs):
            candidates = [self.dylibs[ordinal - 1]]
        else:
            raise DyldFault(Fault("unresolved", site, symbol,
                                  f"{symbol}: library ordinal {ordinal} names no "
                                  f"LC_LOAD_DYLIB (there are {len(self.dylibs)})"))
        for lib in candidates:
            found = lib.resolve(symbol, self.process)
            if found is None:
                continue
            if found.address is not None:
                return found.address
            assert found.export is not None
            key = (lib.install_name, symbol)
            if key not in self._functions:
                export = found.export
                if self.word == 4 and isinstance(lib, LibSystem):
                    export = aligned_call(export, lib.install_name)
                self._functions[key] = self.machine.add_export(lib.install_name, export)
            return self._functions[key]
        if weak:
            return 0
        if candidates and not isinstance(candidates[0], ImageDylib):
            return self._unimplemented(symbol, candidates[0].install_name)
        if candidates:  # a real image does not export it: dyld stops the launch
            names = ", ".join(c.install_name for c in candidates)
            raise DyldFault(Fault("unresolved", site, symbol,
                                  f"{symbol}: symbol not found (ordinal {ordinal}: "
                                  f"expected in {names})"))
        raise DyldFault(Fault("unresolved", site, symbol,
                              f"{symbol}: not defined by the executable (ordinal {ordinal})"))

    def _unimplemented(self, symbol: str, install_name: str) -> int:
        key = (install_name, "!" + symbol)
        if key not in self._functions:
            machine = self.machine

            def fault() -> None:
                ret = machine.abi.read_word(self.mem, machine.abi.sp(machine.uc))
                raise RunStop(Fault("unimplemented", ret, machine.symbol_at(ret),
                                    f"call to {symbol}, which is not implemented in "
                                    f"{install_name}"))

            self._functions[key] = machine.add_handler(fault, f"{install_name}:{symbol}")
        return self._functions[key]

    # -- fields --

    def _field(self, segment: int, offset: int, what: str, rebase: bool = False) -> int:
        """The address of a pointer a rebase or bind writes, checked to be writable."""
        if not 0 <= segment < len(self.img.segments):
            raise DyldFault(Fault("bad-relocation", 0, None,
                                  f"{what}: segment index {segment} does not exist"))
        seg: Segment = self.img.segments[segment]
        addr = seg.vmaddr + offset
        if not seg.contains(addr, self.word):
            raise DyldFault(Fault("bad-relocation", addr, None,
                                  f"{what}: offset {offset:#x} is outside {seg.name}"))
        if not seg.writable and not (rebase and self.text_rebases):
            raise DyldFault(Fault("bad-relocation", addr, None,
                                  f"{what}: {addr:#x} is in {seg.name}, which is not writable"))
        return addr

    def _store(self, addr: int, value: int) -> None:
        self.mem.write_initial(addr, self.machine.abi.pack(value))

    def _apply_bind(self, b: Bind, stream: str) -> int:
        what = f"{stream} of {b.symbol} (opcode at +{b.opcode_offset:#x})"
        addr = self._field(b.segment, b.offset, what)
        if b.type != BIND_TYPE_POINTER:
            raise DyldFault(Fault("bad-relocation", addr, b.symbol,
                                  f"{what}: bind type {b.type} is not BIND_TYPE_POINTER"))
        target = self.address_of(b.ordinal, b.symbol, b.weak_import, addr)
        value = target + b.addend if target else 0
        self._store(addr, value)
        return value

    # -- at load --

    def bind_at_load(self, lazy: bool) -> None:
        info = self.img.dyld_info
        if self.img.chained_fixups is not None:
            self._apply_chained_fixups()
            return
        try:
            if info is None:
                self._apply_classic_relocations()
                self._bind_indirect()
                return
            rebases = decode_rebases(self.img.bytes_at(*info.rebase, "rebase opcodes"),
                                     pointer_size=self.word, limit=self.img.fixup_limit)
            for r in rebases:
                addr = self._field(r.segment, r.offset,
                                   f"rebase (opcode at +{r.opcode_offset:#x})", rebase=True)
                text = self.text_rebases and r.type == REBASE_TYPE_TEXT_ABSOLUTE32
                if r.type != REBASE_TYPE_POINTER and not text:
                    raise DyldFault(Fault("bad-relocation", addr, None,
                                          f"rebase type {r.type} is not REBASE_TYPE_POINTER"))
                # the pointer moves with the image (slide 0 when it is not MH_PIE)
                self._store(addr, int.from_bytes(self.mem.read(addr, self.word), "little")
                            + self.slide)
            for b in decode_binds(self.img.bytes_at(*info.bind, "bind opcodes"),
                                  pointer_size=self.word, limit=self.img.fixup_limit):
                self._apply_bind(b, "bind")
            if info.weak_bind[1]:
                for b in decode_binds(self.img.bytes_at(*info.weak_bind, "weak bind opcodes"),
                                      "weak bind", pointer_size=self.word, weak=True,
                                      limit=self.img.fixup_limit):
                    what = f"weak bind of {b.symbol} (opcode at +{b.opcode_offset:#x})"
                    self.weak_sites.append(WeakSite(self._field(b.segment, b.offset, what),
                                                    b.symbol, b.addend))
            if not lazy and self._lazy:
                for b in decode_binds(self._lazy, "lazy bind", lazy=True,
                                      pointer_size=self.word, limit=self.img.fixup_limit):
                    self._apply_bind(b, "lazy bind")
        except OpcodeError as err:
            raise DyldFault(Fault("bad-relocation", 0, None, str(err))) from None
        except mi.MachOError as err:
            raise DyldFault(Fault("load", 0, None, str(err))) from None

    def _apply_chained_fixups(self) -> None:
        """LC_DYLD_CHAINED_FIXUPS: every pointer of every chain, rebased (plus the slide)
        or bound (the import's target plus its addend and the pointer's), all at load:
        chained fixups have no lazy binding."""
        try:
            fixups = chained.read_fixups(self.img)
        except chained.ChainError as err:
            raise DyldFault(Fault("bad-relocation", 0, None, str(err))) from None
        except mi.MachOError as err:
            raise DyldFault(Fault("load", 0, None, str(err))) from None
        targets: dict[int, int] = {}
        for f in fixups.fixups:
            seg = self.img.segment_at(f.address, self.word)
            if seg is None or not seg.writable:
                raise DyldFault(Fault("bad-relocation", f.address, None,
                                      f"chained fixup at {f.address:#x} is not in a writable "
                                      "segment"))
            if not f.bind:
                self._store(f.address, f.value + self.slide)
                continue
            imp = fixups.imports[f.value]
            if imp.ordinal == WEAK_LOOKUP:  # found by coalescing (coalesce.py); until
                # then, as flat lookup would find it
                self.weak_sites.append(WeakSite(f.address, imp.name, imp.addend + f.addend))
            if f.value not in targets:
                ordinal = {WEAK_LOOKUP: ORDINAL_FLAT}.get(imp.ordinal, imp.ordinal)
                targets[f.value] = self.address_of(ordinal, imp.name, imp.weak, f.address)
            target = targets[f.value]
            self._store(f.address, target + imp.addend + f.addend if target else 0)

    def _apply_classic_relocations(self) -> None:
        """Classic files: LC_DYSYMTAB's local relocations (slide 0) and external
        relocations (the symbol found as an indirect pointer's would be, plus the addend
        the pointer holds)."""
        twolevel = bool(self.img.flags & mi.MH_TWOLEVEL)

        def read_word(addr: int) -> int:
            return int.from_bytes(self.mem.read(addr, self.word), "little")

        def resolve(sym: Symbol, place: int) -> int:
            return self._classic_target(sym, place, twolevel)

        try:
            relocations.apply(self.img, read_word, self._store, resolve, self.slide)
        except relocations.RelocationError as err:
            raise DyldFault(Fault("bad-relocation", err.address, None, err.message)) from None

    def _bind_indirect(self) -> None:
        """Classic files: every S_NON_LAZY/S_LAZY_SYMBOL_POINTERS slot is bound at load
        through the indirect symbol table and the undefined symbol's library ordinal."""
        indirect = self.img.indirect_symbols()
        twolevel = bool(self.img.flags & mi.MH_TWOLEVEL)
        for sect in self.img.sections():
            if sect.type not in (mi.S_NON_LAZY_SYMBOL_POINTERS, mi.S_LAZY_SYMBOL_POINTERS):
                continue
            for i in range(sect.size // self.word):
                slot = sect.addr + self.word * i
                k = sect.reserved1 + i
                if k >= len(indirect):
                    raise DyldFault(Fault("bad-relocation", slot, None,
                                          f"{sect.name}: reserved1 {sect.reserved1} + {i} is "
                                          f"past the indirect symbol table ({len(indirect)})"))
                entry = indirect[k]
                if entry & mi.INDIRECT_SYMBOL_ABS:
                    continue  # an absolute address: it stays
                if entry & mi.INDIRECT_SYMBOL_LOCAL:  # a local address: dyld slides it
                    old = int.from_bytes(self.mem.read(slot, self.word), "little")
                    self._store(slot, old + self.slide)
                    continue
                if entry >= len(self._symbols):
                    raise DyldFault(Fault("bad-relocation", slot, None,
                                          f"indirect symbol {k} names symbol {entry}, past "
                                          f"the symbol table ({len(self._symbols)})"))
                self._store(slot, self._classic_target(self._symbols[entry], slot, twolevel))

    def _classic_target(self, sym: Symbol, slot: int, twolevel: bool) -> int:
        if not sym.undefined:
            return sym.value
        ordinal = sym.library_ordinal
        if not twolevel or ordinal == mi.DYNAMIC_LOOKUP_ORDINAL:
            ordinal = ORDINAL_FLAT
        elif ordinal == mi.EXECUTABLE_ORDINAL:
            ordinal = ORDINAL_EXECUTABLE
        return self.address_of(ordinal, sym.name, bool(sym.desc & N_WEAK_REF), slot)

    # -- lazily --

    def _bind_lazily(self) -> None:
        machine, uc, abi = self.machine, self.machine.uc, self.machine.abi
        sp = abi.sp(uc)
        private, offset, caller = (abi.read_word(self.mem, sp + self.word * k)
                                   for k in range(3))

        def bad(message: str) -> RunStop:
            return RunStop(Fault("bad-resolver", caller, machine.symbol_at(caller),
                                 f"dyld_stub_binder: {message}"))

        seg = self.img.segment_at(private, self.word)
        if seg is None or not seg.writable:
            raise bad(f"the image's private word {private:#x} on the stack is not in a "
                      "writable segment")
        if not self._lazy:
            raise bad("the image has no lazy-bind opcodes")
        try:
            binds = decode_binds(self._lazy, "lazy bind", lazy=True, start=offset, single=True,
                                 pointer_size=self.word, limit=self.img.fixup_limit)
            called_through = self._stub_slot_of_call(caller)
            bound = {self.img.segments[b.segment].vmaddr + b.offset for b in binds
                     if 0 <= b.segment < len(self.img.segments)}
            if called_through is not None and called_through not in bound:
                raise bad(f"lazy-bind offset {offset:#x} binds "
                          f"{', '.join(f'{a:#x}' for a in sorted(bound))}, but the call at "
                          f"{caller:#x} went through the stub of lazy pointer "
                          f"{called_through:#x}")
            targets = [self._apply_bind(b, "lazy bind") for b in binds]
        except OpcodeError as err:
            raise bad(f"lazy-bind offset {offset:#x}: {err}") from None
        except DyldFault as err:
            raise bad(err.fault.message) from None
        uc.reg_write(abi.sp_reg, sp + 2 * self.word)
        uc.reg_write(abi.pc_reg, targets[0])

    def _stub_slot_of_call(self, caller: int) -> int | None:
        """The lazy pointer whose stub the call returning to `caller` called, when the call
        is a direct `call rel32` to a `jmp *slot` stub (abs32 on i386, rip-relative on
        x86-64) and the slot lies in an S_LAZY_SYMBOL_POINTERS section; else None."""
        try:
            call = self.mem.read(caller - 5, 5)
            if call[0] != 0xE8:
                return None
            stub = (caller + int.from_bytes(call[1:], "little", signed=True)) & self.machine.abi.mask
            jump = self.mem.read(stub, 6)
        except Exception:  # noqa: BLE001 - unreadable bytes: not a direct call to a stub
            return None
        if jump[:2] != b"\xff\x25":
            return None
        operand = int.from_bytes(jump[2:], "little", signed=self.word == 8)
        slot = operand if self.word == 4 else stub + 6 + operand
        for sect in self.img.sections():
            if sect.type == mi.S_LAZY_SYMBOL_POINTERS and sect.addr <= slot < sect.addr + sect.size:
                return slot
        return None


def aligned_call(export: Export, install_name: str) -> Export:
    """`export` behind the Darwin i386 ABI's check: esp + 4 (esp before the call pushed the
    return address) is a multiple of 16 on entry to every libSystem function."""

    def impl(ctx: CallContext) -> LibResult:
        machine = ctx.machine
        sp = machine.abi.sp(machine.uc)
        if (sp + 4) % 16:
            site = _call_instruction(ctx, machine.abi.read_word(ctx.mem, sp))
            raise RunStop(Fault("misaligned-stack", site, machine.symbol_at(site),
                                f"call to {export.name} in {install_name} at {site:#x} "
                                f"with esp {sp + 4:#x} before the call, not 16-byte aligned "
                                "(the Darwin i386 ABI requires it at every call)"))
        return export.impl(ctx)

    return Export(export.name, export.arity, impl)


def _call_instruction(ctx: CallContext, ret: int) -> int:
    """The address of the call that returns to `ret`: `call rel32` (e8, 5 bytes), `call
    *abs32` (ff 15, 6 bytes) or `call *%reg` (ff d0-d7, 2 bytes); `ret` itself when the
    bytes before it are none of those (a tail call reached through a jump)."""
    try:
        before = ctx.mem.read(ret - 6, 6)
    except Exception:  # noqa: BLE001 - unreadable: name the return address
        return ret
    if before[1] == 0xE8:
        return ret - 5
    if before[:2] == b"\xff\x15":
        return ret - 6
    if before[4] == 0xFF and 0xD0 <= before[5] <= 0xD7:
        return ret - 2
    return ret
