"""Loading a Mach-O link's inputs, the way ld64 does.

Objects are added whole; `.tbd` stubs add their exports (every library linked becomes an
LC_LOAD_DYLIB, as with ld64 without -dead_strip_dylibs); archives contribute the members
that define a currently undefined symbol, rescanned until nothing changes (ld64 treats all
archives as one group), weak references included.  `-lNAME` searches the -L directories,
then SYSROOT/usr/lib, for libNAME.tbd, libNAME.dylib (a linked dylib: dylib_input.py),
then libNAME.a; `-lSystem` falls back to the
embedded stub.  A universal (fat) object or archive gives the slice `-arch` names (fat.py).
"""

from __future__ import annotations

import os

import numpy as np

from ..elf.archive import AR_MAGIC, member_path, read_archive
from ..errors import LinkError
from ..input_file import read_input
from ..model import UNDEF, Archive, Binding, DynamicLibrary, ObjectFile
from ..records import dataclass, field
from ..resolve import SymbolTable
from .crt import START, start_object
from .dylib_input import is_macho_dylib, read_dylib
from .fat import fat_slice, is_fat
from .read import is_macho_object, read_macho_object
from .tbd import default_libsystem, imports_as_libraries, read_tbd

# Raw LLVM bitcode, and the wrapper header clang puts around it for Darwin targets.
BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")


def macho_defined_names(data: memoryview, path: str) -> list[str]:
    if not is_macho_object(data):
        return []
    t = read_macho_object(data, path, debug=False).symbols
    defined = (t.binding != Binding.LOCAL) & (t.section != UNDEF)
    return [t.names[i] for i in np.nonzero(defined)[0].tolist()]


@dataclass
class MachoLoader:
    symtab: SymbolTable
    library_paths: list[str]
    syslibroot: str = ""
    arch: str = "x86_64"
    archives: list[tuple[Archive, set[int]]] = field(default_factory=list)
    _libs: set[str] = field(default_factory=set)
    _archive_bytes: dict[int, bytes] = field(default_factory=dict)  # id(archive): its file

    def load(self, items: list[str], imports: list[str]) -> None:
        for item in items:
            if item.startswith("-l"):
                self.library(item[2:])
            elif item.startswith("-"):
                continue  # positional ELF options have no meaning here
            else:
                self.path(item)
        for lib in imports_as_libraries(imports):
            # Never deduplicated: `--import _f@/usr/lib/libSystem.B.dylib` adds to a library
            # already linked (the writer merges libraries by install name).
            self.symtab.add_library(lib)
        progress = True
        while progress:
            progress = any([self._pull(a, loaded) for a, loaded in self.archives])  # noqa: C419 -- pull from every archive each round

    def library(self, name: str) -> None:
        dirs = list(self.library_paths)
        if self.syslibroot:
            dirs.append(os.path.join(self.syslibroot, "usr/lib"))
        if name.endswith(".o"):  # ld64: -lcrt1.10.6.o names the file crt1.10.6.o itself
            for d in dirs:
                if os.path.isfile(os.path.join(d, name)):
                    self.path(os.path.join(d, name))
                    return
            if name.startswith("crt1"):
                return  # no SDK: the link supplies its own `start` (crt.py)
            raise LinkError(f"cannot find -l{name} in {len(dirs)} directories")
        for d in dirs:
            for cand in (f"lib{name}.tbd", f"lib{name}.dylib", f"lib{name}.a"):
                path = os.path.join(d, cand)
                if os.path.isfile(path):
                    self.path(path)
                    return
        if name == "System":
            self._add_library(default_libsystem(self.arch))
            return
        raise LinkError(f"cannot find -l{name} (no lib{name}.tbd or lib{name}.a in "
                        f"{len(dirs)} directories)")

    def path(self, path: str) -> None:
        try:
            data = bytes(read_input(path))
        except OSError as e:
            raise LinkError(f"cannot read input: {e.strerror}", file=path) from None
        except MemoryError:  # a file of gigabytes, past what this process may allocate
            raise LinkError(f"cannot read input: its {os.path.getsize(path)} bytes do not fit "
                            "in memory", file=path) from None
        if is_fat(data):
            # ld64 takes the -arch slice of a universal object or archive; the slice is
            # then read as the thin file it is.
            data = fat_slice(data, path, self.arch)
        if is_macho_object(data):
            obj = read_macho_object(memoryview(data), path)
            _place_origin(obj, os.path.abspath(path), int(os.stat(path).st_mtime))
            self._add_object(obj)
        elif data[:8] == AR_MAGIC:
            archive = read_archive(memoryview(data), path, macho_defined_names)
            self._archive_bytes[id(archive)] = data
            loaded: set[int] = set()
            self.archives.append((archive, loaded))
            self._pull(archive, loaded)
        elif data.lstrip()[:3] == b"---" or path.endswith(".tbd"):
            umbrella, *reexported = read_tbd(data.decode("utf-8", "replace"), path, self.arch)
            # Symbols of the libraries a stub re-exports (libSystem's libsystem_c, ...) are
            # bound through the umbrella's install name, as ld64 does.
            exports = umbrella.symbols
            assert isinstance(exports, dict)  # a .tbd's exports are read into a dict
            for lib in reexported:
                exports.update({k: v for k, v in lib.symbols.items() if k not in exports})
            self._add_library(umbrella)
        elif is_macho_dylib(data):
            self._add_library(read_dylib(data, path, self.arch))
        elif data[:4] in BITCODE_MAGICS:
            raise LinkError("LLVM bitcode (an -flto object): linkharness does not run LTO; "
                            "build without -flto", file=path, offset=0)
        elif data[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe"):
            raise LinkError("a linked Mach-O file that is not a dylib (an executable or "
                            "bundle) is not a link input", file=path, offset=12)
        else:
            raise LinkError("file format not recognized (not a Mach-O object, archive or "
                            ".tbd stub)", file=path, offset=0)

    def add_builtin_start(self) -> bool:
        """Add the linker's own `start` (crt.py) unless the inputs define one; pull what it
        references (_main from an archive).  False when the arch has none."""
        sym = self.symtab.by_name.get(START)
        if sym is not None and sym.defined:
            return True
        obj = start_object(self.arch)
        if obj is None:
            return False
        self._add_object(obj)
        while any([self._pull(a, loaded) for a, loaded in self.archives]):  # noqa: C419
            pass
        return True

    def _add_object(self, obj: ObjectFile) -> None:
        if obj.arch != self.arch:
            raise LinkError(f"{obj.arch} object in a link for {self.arch} (-arch)",
                            file=obj.path, offset=4)
        self.symtab.add_object(obj)

    def _add_library(self, lib: DynamicLibrary) -> None:
        if lib.soname in self._libs:
            return
        self._libs.add(lib.soname)
        self.symtab.add_library(lib)

    def _pull(self, archive: Archive, loaded: set[int]) -> bool:
        added = False
        for name, members in archive.index.items():
            sym = self.symtab.by_name.get(name)
            # Unlike GNU ld, ld64 lets a weak reference pull a member too.
            if sym is None or not sym.referenced or not sym.undefined or members[0] in loaded:
                continue
            n = members[0]
            loaded.add(n)
            member = archive.members[n]
            obj = read_macho_object(member.data, member_path(archive, member))
            header = self._archive_bytes[id(archive)][member.offset:member.offset + 60]
            _place_origin(obj, f"{os.path.abspath(archive.path)}({member.name})",
                          _member_mtime(header))
            self._add_object(obj)
            added = True
        return added


def _place_origin(obj: ObjectFile, path: str, mtime: int) -> None:
    """Where the debug map will send dsymutil for this object's DWARF (its N_OSO)."""
    if obj.debug_origin is not None:
        obj.debug_origin.path, obj.debug_origin.mtime = path, mtime


def _member_mtime(header: bytes) -> int:
    """An archive member's modification time: the header's decimal date field (0 when
    blank or unreadable, as deterministic archives write it)."""
    text = header[16:28].decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else 0
