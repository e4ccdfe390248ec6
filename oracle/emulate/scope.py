"""Symbol lookup across everything loaded: the global scope of ld.so.

Members, in lookup order: the executable, then the DT_NEEDED libraries breadth first, each
either a real ELF object mapped into the guest (a LoadedObject) or an emulated library of
Python functions.  As in glibc: a symbol the executable defines wins everywhere (so after
a COPY every object uses the executable's copy); an undefined executable symbol with a
nonzero value (a canonical PLT entry) satisfies every reference but its own JUMP_SLOT; a
version need naming a library makes that library be tried first after the executable;
weak references to nothing are 0; calls to functions nobody implements get a stub that
faults naming the function.  A protected symbol binds its own object's references to its
own definition; a hidden one left global in .dynsym defines nothing for anyone else.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from oracle.emulate import dynamic as dt
from oracle.emulate.dynamic import Dynamic, DynSym
from oracle.emulate.dynsym_index import Definition, symbol_index
from oracle.emulate.libraries import EmulatedLibrary
from oracle.emulate.machine import Machine, RunStop
from oracle.emulate.process import Process
from oracle.emulate.result import Fault


class LoadFault(Exception):
    """Loading cannot complete (ld.so would print an error and exit 127)."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.describe())
        self.fault = fault


@dataclass
class LoadedObject:
    """A real ELF object in guest memory: the executable or a shared library."""

    name: str
    path: str
    dyn: Dynamic
    start: int
    end: int
    is_executable: bool
    defined: dict[str, list[Definition]] = field(default_factory=dict)  # by name
    canonical: dict[str, int] = field(default_factory=dict)  # undefined, nonzero value
    relro: tuple[int, int] | None = None  # (address, size) sealed after relocation
    tls_module: int = 0  # its static TLS block, when it has PT_TLS
    tls_offset: int = 0  # how far below the thread pointer that block starts

    data: bytes = field(default=b"", repr=False)  # the file, indexed on first need
    _indexed: bool = field(default=False, repr=False)

    def index_symbols(self) -> None:
        """Index the dynamic symbols by name, with their version (from .dynsym,
        .gnu.version and .gnu.version_d; nothing if there are no section headers, in which
        case only the object's own references see its definitions)."""
        if self._indexed:
            return
        self._indexed = True
        definitions, canonical = symbol_index(self.data, self.is_executable)
        for name, definition in definitions:
            self.defined.setdefault(name, []).append(definition)
        for name, index in canonical:
            self.canonical.setdefault(name, index)

    def defines_ifunc(self) -> bool:
        self.index_symbols()
        return any(self.dyn.symbol(d.index).type == dt.STT_GNU_IFUNC
                   for defs in self.defined.values() for d in defs)

    def definition(self, name: str, version: str | None) -> int | None:
        """The dynsym index defining `name`: the one of `version` when asked for, else the
        default (not hidden) one, as a reference without a version gets."""
        candidates = self.defined.get(name)
        if not candidates:
            return None
        if version is not None:
            for cand in candidates:
                if cand.version == version:
                    return cand.index
        return next((c.index for c in candidates if not c.hidden), candidates[0].index)



Member = LoadedObject | EmulatedLibrary


class Scope:
    def __init__(self, machine: Machine, process: Process, members: list[Member]) -> None:
        self.machine = machine
        self.process = process
        self.members = members
        self._functions: dict[tuple[str, str], int] = {}

    @functools.cached_property
    def _libraries_define_ifuncs(self) -> bool:
        return any(isinstance(m, LoadedObject) and not m.is_executable and m.defines_ifunc()
                   for m in self.members)

    def libraries_define_ifuncs(self) -> bool:
        """Does a loaded library export an STT_GNU_IFUNC (so a slot may bind to one)?"""
        return self._libraries_define_ifuncs

    def _name_of(self, member: Member) -> str:
        return member.name if isinstance(member, LoadedObject) else member.soname

    def _order(self, requester: LoadedObject, sym: DynSym) -> list[Member]:
        wanted = requester.dyn.version_files().get(requester.dyn.version_index(sym.index))
        if wanted is None:
            return self.members
        first = [m for m in self.members[1:] if self._name_of(m) == wanted]
        return [self.members[0], *first, *(m for m in self.members[1:] if m not in first)]

    @staticmethod
    def _wanted_version(requester: LoadedObject, sym: DynSym) -> str | None:
        need = requester.dyn.version_needs().get(requester.dyn.version_index(sym.index))
        return None if need is None else need[1]

    def resolve(self, requester: LoadedObject, sym: DynSym, for_plt: bool) -> int:
        """S for a relocation of `requester` against `sym` (a JUMP_SLOT when for_plt)."""
        value, ifunc = self.resolve_target(requester, sym, for_plt)
        if ifunc:
            raise LoadFault(Fault("unsupported", 0, sym.name,
                                  f"{sym.name} binds to an STT_GNU_IFUNC definition where the "
                                  "emulated ld.so cannot call its resolver"))
        return value

    def resolve_target(self, requester: LoadedObject, sym: DynSym,
                       for_plt: bool) -> tuple[int, bool]:
        """(address, is it an STT_GNU_IFUNC's resolver) of what `sym` binds to.  A
        defined IFUNC's value is its resolver: glibc binds a reference to what the
        resolver returns, never to the resolver itself (the caller arranges the call)."""
        if sym.protected:
            # its own definition: nothing interposes a protected symbol
            return sym.value, sym.type == dt.STT_GNU_IFUNC
        for member in self._order(requester, sym):
            found = self._lookup(member, requester, sym, for_plt)
            if found is not None:
                return found
        if sym.defined:  # not exported by name (no .dynsym section): its own definition
            return sym.value, sym.type == dt.STT_GNU_IFUNC
        return self._resolve_undefined(requester, sym), False

    def _resolve_undefined(self, requester: LoadedObject, sym: DynSym) -> int:
        if sym.bind == dt.STB_WEAK:
            return 0
        if sym.type == dt.STT_OBJECT:
            raise LoadFault(Fault("unresolved", 0, sym.name,
                                  f"undefined data symbol {sym.name} in every library"))
        need = requester.dyn.version_needs().get(requester.dyn.version_index(sym.index))
        owner = next((self._name_of(m) for m in self.members[1:] if not isinstance(
            m, LoadedObject) and m.provides(sym.name)), None)
        return self._unimplemented(sym.name, need[0] if need else owner)

    def _lookup(self, member: Member, requester: LoadedObject, sym: DynSym,
                for_plt: bool) -> tuple[int, bool] | None:
        if isinstance(member, LoadedObject):
            if member is requester:
                # Its own definition, or its own canonical PLT entry: no name index needed
                # (which keeps the common case, an executable and emulated libraries, from
                # ever parsing the file's symbol tables).
                if sym.defined:
                    return sym.value, sym.type == dt.STT_GNU_IFUNC
                if not for_plt and sym.value and member.is_executable:
                    return sym.value + member.dyn.bias, False
                return None
            member.index_symbols()
            index = member.definition(sym.name, self._wanted_version(requester, sym))
            if index is None and not for_plt:
                index = member.canonical.get(sym.name)
            if index is None:
                return None
            found = member.dyn.symbol(index)
            return (found.value + (0 if found.defined else member.dyn.bias),
                    found.defined and found.type == dt.STT_GNU_IFUNC)
        if not member.provides(sym.name):
            return None
        if sym.type == dt.STT_OBJECT or member.is_data(sym.name):
            obj = member.data(sym.name, sym.size, self.process)
            return None if obj is None else (obj.address, False)
        export = member.function(sym.name)
        if export is None:
            return None
        key = (member.soname, sym.name)
        if key not in self._functions:
            self._functions[key] = self.machine.add_export(member.soname, export)
        return self._functions[key], False

    def resolve_tls(self, requester: LoadedObject, sym: DynSym) -> tuple[int, int, int]:
        """(module id, block offset below tp, offset in the block) of a TLS symbol; the
        requester's own module for a relocation without a symbol (local dynamic)."""
        if sym.index == 0:
            return requester.tls_module, requester.tls_offset, 0
        if sym.protected:
            return requester.tls_module, requester.tls_offset, sym.raw
        for member in self._order(requester, sym):
            if not isinstance(member, LoadedObject):
                continue
            if member is requester and sym.defined:
                return member.tls_module, member.tls_offset, sym.raw
            member.index_symbols()
            index = member.definition(sym.name, self._wanted_version(requester, sym))
            if index is not None:
                return member.tls_module, member.tls_offset, member.dyn.symbol(index).raw
        if sym.bind == dt.STB_WEAK:
            return 0, 0, 0
        raise LoadFault(Fault("unresolved", 0, sym.name,
                              f"undefined thread-local symbol {sym.name}"))

    def copy_source(self, requester: LoadedObject, sym: DynSym) -> tuple[int, int, object]:
        """(address, size, owner) of the definition a COPY relocation copies: the first one
        after the executable."""
        for member in self._order(requester, sym)[1:]:
            if isinstance(member, LoadedObject):
                member.index_symbols()
                index = member.definition(sym.name, self._wanted_version(requester, sym))
                if index is not None:
                    found = member.dyn.symbol(index)
                    return found.value, found.size, None
            elif member.provides(sym.name):
                obj = member.data(sym.name, sym.size, self.process)
                if obj is not None:
                    return obj.address, obj.size, obj
        raise LoadFault(Fault("unresolved", 0, sym.name,
                              f"COPY of {sym.name}: no library defines that object"))

    def _unimplemented(self, name: str, soname: str | None) -> int:
        key = (soname or "?", "!" + name)
        if key not in self._functions:
            where = f" in {soname}" if soname else " in any needed library"
            machine = self.machine

            def fault() -> None:
                ret = machine.abi.read_word(machine.mem, machine.abi.sp(machine.uc))
                raise RunStop(Fault("unimplemented", ret, machine.symbol_at(ret),
                                    f"call to {name}, which is not implemented{where}"))

            self._functions[key] = machine.add_handler(fault, f"{soname}:{name}")
        return self._functions[key]
