"""The dynamic linker proper, per loaded object: applies its dynamic relocations (symbols
are looked up in the global scope, scope.py), and resolves its PLT slots lazily through
GOT[1] (a link-map token) and GOT[2] (the resolver), as _dl_runtime_resolve does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from unicorn import UC_PROT_WRITE

from oracle.emulate import dynamic as dt
from oracle.emulate.dynamic import DynSym, Reloc, RelocRows
from oracle.emulate.machine import Machine, RunStop
from oracle.emulate.memory import page_down
from oracle.emulate.process import DataObject, Process
from oracle.emulate.relative import Slots, relr_addresses
from oracle.emulate.result import Fault
from oracle.emulate.scope import LoadedObject, LoadFault, Scope

R_NONE, R_ABS, R_PC32, R_COPY, R_GLOB_DAT, R_JUMP_SLOT, R_RELATIVE = 0, 1, 2, 5, 6, 7, 8
BULK_MIN = 64  # RELATIVE rows below this are applied one by one, as any other
R_IRELATIVE = {8: 37, 4: 42}  # the slot gets what the resolver at (bias + addend) returns
# thread-local relocation types per word size
_TLS = {8: {16: "DTPMOD", 17: "DTPOFF", 18: "TPOFF"},
        4: {35: "DTPMOD", 36: "DTPOFF", 14: "TPOFF", 37: "TPOFF32"}}
_NAMES = {8: {1: "R_X86_64_64", 2: "R_X86_64_PC32", 5: "R_X86_64_COPY", 6: "R_X86_64_GLOB_DAT",
              7: "R_X86_64_JUMP_SLOT", 8: "R_X86_64_RELATIVE"},
          4: {1: "R_386_32", 2: "R_386_PC32", 5: "R_386_COPY", 6: "R_386_GLOB_DAT",
              7: "R_386_JMP_SLOT", 8: "R_386_RELATIVE"}}


class DynamicLinker:
    """Relocates one loaded object and serves its lazy PLT resolutions."""

    def __init__(self, machine: Machine, process: Process, obj: LoadedObject,
                 scope: Scope) -> None:
        self.machine = machine
        self.process = process
        self.obj = obj
        self.dyn = obj.dyn
        self.scope = scope
        self.word = machine.abi.word
        self.mem = machine.mem
        self.token = process.alloc_data(64)  # the "link map": data, never executable
        self.resolver = machine.add_handler(self._resolve_lazy,
                                            f"<_dl_runtime_resolve for {obj.name}>")
        # (slot, resolver) of every IRELATIVE: the resolvers are guest code, called once
        # relocation is over and before any initialiser (linking.py), lazy binding or not.
        self.irelative: list[tuple[int, int]] = []

    # -- field access --

    def _read(self, addr: int) -> int:
        return int.from_bytes(self.mem.read(addr, self.word), "little")

    def _store(self, addr: int, value: int) -> None:
        self.mem.write_initial(addr, self.machine.abi.pack(value))

    def _name(self, rtype: int) -> str:
        return _NAMES[self.word].get(rtype, f"type {rtype}")

    def address_of(self, sym: DynSym, for_plt: bool) -> int:
        return self.scope.resolve(self.obj, sym, for_plt)

    # -- relocation --

    def relocate(self, lazy: bool) -> None:
        irelative = R_IRELATIVE[self.word]
        step = self.mem.loading_step
        slots = Slots(self.mem, self.mem.write_initial, self.word, step)
        for rows in self.dyn.data_relocs():
            in_bulk = self._relative_in_bulk(rows, slots)
            for i in range(len(rows)) if in_bulk is None else np.flatnonzero(~in_bulk).tolist():
                step()
                reloc = rows.reloc(i)
                if reloc.type == irelative:
                    self._defer_irelative(reloc)
                else:
                    self._apply(reloc)
        relr = self.dyn.relr_entries()
        if len(relr) and not any(version == "GLIBC_ABI_DT_RELR"
                                 for _, version in self.dyn.version_needs().values()):
            # glibc 2.36 refuses it, lest an older ld.so run the object unrelocated
            raise LoadFault(Fault("load", 0, None, f"{self.obj.path}: DT_RELR without "
                                  "GLIBC_ABI_DT_RELR dependency"))
        for addrs in relr_addresses(relr, self.word, self.dyn.bias, step):
            if self.dyn.bias:
                slots.add(addrs, self.dyn.bias)
        plt = []
        for reloc in self.dyn.plt_relocs():
            step()
            if reloc.type == irelative:
                self._defer_irelative(reloc)
                continue
            plt.append(reloc)
            if reloc.type != R_JUMP_SLOT:
                raise LoadFault(Fault("bad-relocation", reloc.offset, None,
                                      f"{self._name(reloc.type)} in DT_JMPREL"))
        if lazy and not self.dyn.bind_now():
            # A slot bound to an IFUNC gets what its resolver returns; glibc calls the
            # resolver when the slot is first used, this ld.so before the initialisers
            # (the resolvers are guest code, called where IRELATIVE's are).
            plt = [reloc for reloc in plt if not self._defer_ifunc_slot(reloc)]
            if plt:
                got = self.dyn.get(dt.DT_PLTGOT)
                if not got:
                    raise LoadFault(Fault("load", 0, None, "DT_JMPREL without DT_PLTGOT"))
                self._store(got + self.word, self.token)
                self._store(got + 2 * self.word, self.resolver)
            if self.dyn.bias:
                for reloc in plt:
                    self._store(reloc.offset, self._read(reloc.offset) + self.dyn.bias)
        else:
            for reloc in plt:
                self._bind_slot(reloc)

    def _relative_in_bulk(self, rows: RelocRows, slots: Slots) -> npt.NDArray[np.bool_] | None:
        """Apply the table's RELATIVE rows as arrays (relative.py); which rows that did, or
        None when the table is small or two of its rows share a place (then the order
        matters, and every row is applied one by one, in order)."""
        relative = rows.type == R_RELATIVE
        count = int(relative.sum())
        top = (1 << 8 * self.word) - 1
        if count < BULK_MIN or int(rows.offset.max()) > top - self.dyn.bias or \
                bool((np.diff(np.sort(rows.offset)) == 0).any()):
            return None
        places = rows.offset[relative] + np.uint64(self.dyn.bias)
        order = np.argsort(places, kind="stable")
        if rows.addend is None:
            slots.add(places[order], self.dyn.bias)
        else:
            addends = rows.addend[relative][order]
            # (two's complement: the addends as unsigned words, the sum wrapping as ld.so's)
            slots.store(places[order],
                        addends.astype(np.uint64) + np.uint64(self.dyn.bias % (1 << 64)))
        return relative

    def _defer_irelative(self, reloc: Reloc) -> None:
        addend = reloc.addend if reloc.addend is not None else self._read(reloc.offset)
        self.irelative.append((reloc.offset, self.dyn.bias + addend))

    def _defer_ifunc_slot(self, reloc: Reloc) -> bool:
        """Is this JUMP_SLOT bound to an STT_GNU_IFUNC (then deferred to its resolver)?"""
        sym = self.dyn.symbol(reloc.sym)
        if not (sym.defined and sym.type == dt.STT_GNU_IFUNC) \
                and not self.scope.libraries_define_ifuncs():
            return False
        target, ifunc = self.scope.resolve_target(self.obj, sym, True)
        if ifunc:
            self._defer_to_resolver(reloc.offset, target, reloc.addend or 0, sym.name)
        return ifunc

    def _defer_to_resolver(self, at: int, resolver: int, addend: int, name: str) -> None:
        if addend:
            raise LoadFault(Fault("unsupported", at, name,
                                  f"a relocation against the IFUNC {name} with addend "
                                  f"{addend:#x}"))
        self.irelative.append((at, resolver))

    def _bind_slot(self, reloc: Reloc) -> int:
        sym = self.dyn.symbol(reloc.sym)
        target, ifunc = self.scope.resolve_target(self.obj, sym, True)
        if ifunc:
            self._defer_to_resolver(reloc.offset, target, reloc.addend or 0, sym.name)
            return target
        if reloc.addend:
            target += reloc.addend
        self._store(reloc.offset, target)
        return target

    def _apply(self, reloc: Reloc) -> None:
        rtype, at = reloc.type, reloc.offset
        if rtype == R_NONE:
            return
        addend = reloc.addend if reloc.addend is not None else self._read(at)
        if rtype == R_RELATIVE:
            self._store(at, self.dyn.bias + addend)
            return
        tls = _TLS[self.word].get(rtype)
        if tls is not None:
            self._apply_tls(tls, reloc, addend)
            return
        if rtype not in (R_ABS, R_GLOB_DAT, R_COPY, R_PC32, R_JUMP_SLOT):
            raise LoadFault(Fault("bad-relocation", at, None,
                                  f"unsupported dynamic relocation {self._name(rtype)}"))
        sym = self.dyn.symbol(reloc.sym)
        if rtype == R_COPY:
            self._copy(sym, at)
            return
        value, ifunc = self.scope.resolve_target(self.obj, sym, rtype == R_JUMP_SLOT)
        if ifunc and rtype != R_PC32:
            self._defer_to_resolver(at, value, reloc.addend or (
                addend if rtype == R_ABS else 0), sym.name)
            return
        if ifunc:
            raise LoadFault(Fault("unsupported", at, sym.name,
                                  f"{self._name(rtype)} against the IFUNC {sym.name}"))
        if rtype == R_GLOB_DAT or rtype == R_JUMP_SLOT:
            self._store(at, value + (reloc.addend or 0))
        elif rtype == R_ABS:
            self._store(at, value + addend)
        else:
            self._store(at, value + addend - at)

    def _apply_tls(self, kind: str, reloc: Reloc, addend: int) -> None:
        """Thread-local relocations against the static TLS blocks (thread.StaticTls)."""
        module, offset, value = self.scope.resolve_tls(self.obj, self.dyn.symbol(reloc.sym))
        if kind == "DTPMOD":
            self._store(reloc.offset, module)
        elif kind == "DTPOFF":
            self._store(reloc.offset, value + addend)
        elif kind == "TPOFF":  # tp-relative, negative: x86-64 TPOFF64, i386 TLS_TPOFF
            self._store(reloc.offset, value + addend - offset)
        else:  # i386 TLS_TPOFF32: the same offset, negated
            self._store(reloc.offset, addend + offset - value)

    def _copy(self, sym: DynSym, at: int) -> None:
        # the executable's copy must fit its own memory before the library's bytes are made:
        # a hostile st_size (a gigabyte) would otherwise be generated word by word
        if not self.mem.covers(at, sym.size):
            raise LoadFault(Fault("bad-relocation", at, sym.name,
                                  f"COPY of {sym.name}: {sym.size:#x} bytes at {at:#x} run "
                                  "past the executable's mapped memory"))
        source, size, emulated = self.scope.copy_source(self.obj, sym)
        self.mem.write_initial(at, self.mem.read(source, min(sym.size, size)))
        if isinstance(emulated, DataObject):
            emulated.address = at  # the library now uses the executable's copy, as glibc does

    def protect_relro(self, start: int, size: int) -> None:
        """Seal PT_GNU_RELRO read-only after relocation (end rounded down, as glibc)."""
        lo, hi = page_down(start), page_down(start + size)
        for begin, end, perms in list(self.machine.uc.mem_regions()):
            a, b = max(lo, begin), min(hi, end + 1)  # regions are [begin, end] inclusive
            if a < b:
                self.machine.protect(a, b - a, perms & ~UC_PROT_WRITE)
                self.mem.readonly.append((a, b))

    # -- lazy resolution: what _dl_runtime_resolve and _dl_fixup do --

    def _resolve_lazy(self) -> None:
        abi, uc = self.machine.abi, self.machine.uc
        sp = abi.sp(uc)
        link_map = self._read(sp)
        pushed = self._read(sp + self.word)
        caller = self._read(sp + 2 * self.word)

        def bad(message: str) -> RunStop:
            return RunStop(Fault("bad-resolver", caller, self.machine.symbol_at(caller),
                                 f"lazy resolver: {message}"))

        if link_map != self.token:
            raise bad(f"link map {link_map:#x} on the stack is not GOT[1]'s {self.token:#x}")
        entsize = self.dyn.plt_entsize()
        offset = pushed * entsize if self.word == 8 else pushed
        what = "index" if self.word == 8 else "byte offset"
        if offset % entsize or offset >= self.dyn.get(dt.DT_PLTRELSZ):
            raise bad(f"relocation {what} {pushed:#x} is outside or misaligned in DT_JMPREL "
                      f"({self.dyn.get(dt.DT_PLTRELSZ)} bytes)")
        reloc = self.dyn.plt_reloc_at(offset)
        if reloc.type != R_JUMP_SLOT:
            raise bad(f"relocation {what} {pushed:#x} is {self._name(reloc.type)}")
        target = self._bind_slot(reloc)
        uc.reg_write(abi.sp_reg, sp + 2 * self.word)
        uc.reg_write(abi.pc_reg, target)
