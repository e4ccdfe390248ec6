"""The registry of emulated shared libraries: which soname is bound to what.

libc.so.6 (and the ld-linux names) -> the emulated libc; libm.so.6 -> double math
functions; any soname starting with
"libtrace" -> recorders following the libtrace convention.  A library answers two
questions for the dynamic linker: the function called NAME (an Export), and the data
object called NAME (created in library memory on first use).
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from oracle.emulate import getopt, gnu_messages, libtrace
from oracle.emulate.calls import CallContext, Export
from oracle.emulate.libc_binding import LIBC_SONAMES, libc_exports
from oracle.emulate.libm import libm_exports
from oracle.emulate.process import DataObject, Process

# Data objects of the emulated libc, created with the process (see streams.py).
LIBC_DATA = frozenset({"stdin", "stdout", "stderr", "environ", "__environ", "_environ",
                       *gnu_messages.DATA_NAMES, *getopt.DATA_NAMES})
DEFAULT_OBJECT_SIZE = 256  # a libtrace object whose importer gives no size


class EmulatedLibrary(Protocol):
    soname: str

    def provides(self, name: str) -> bool: ...

    def is_data(self, name: str) -> bool: ...

    def function(self, name: str) -> Export | None: ...

    def data(self, name: str, size: int, process: Process) -> DataObject | None: ...


class Libc:
    """The emulated C library."""

    _by_word: ClassVar[dict[int, dict[str, Export]]] = {}  # built once per ABI, shared by runs

    def __init__(self, soname: str, word: int) -> None:
        self.soname = soname
        if word not in Libc._by_word:
            Libc._by_word[word] = libc_exports(word)
        self._exports = Libc._by_word[word]

    def provides(self, name: str) -> bool:
        return name in self._exports or name in LIBC_DATA

    def is_data(self, name: str) -> bool:
        return name in LIBC_DATA

    def function(self, name: str) -> Export | None:
        return self._exports.get(name)

    def data(self, name: str, size: int, process: Process) -> DataObject | None:
        return process.objects.get(name) if name in LIBC_DATA else None


class Libtrace:
    """Every function is a recorder; every data object holds hashed words.  When the real
    library's defined names are known, only those are provided (so that two libtrace
    libraries split the names as the real ones do)."""

    def __init__(self, soname: str, names: frozenset[str] | None = None) -> None:
        self.soname = soname
        self.names = names

    def provides(self, name: str) -> bool:
        return self.names is None or name in self.names

    def is_data(self, name: str) -> bool:
        return False  # only by symbol type (STT_OBJECT)

    def function(self, name: str) -> Export | None:
        if not self.provides(name):
            return None
        count = libtrace.arity(name)

        def record(ctx: CallContext) -> int:
            args = ctx.entry_args if len(ctx.entry_args) == count else ctx.args(count)
            return libtrace.call_result(name, args)

        return Export(name, count, record)

    def data(self, name: str, size: int, process: Process) -> DataObject | None:
        if not self.provides(name):
            return None
        size = size if size > 0 else DEFAULT_OBJECT_SIZE
        # a hostile st_size is refused before any byte of it is computed
        process.reserve_data(size)
        return process.object((name,), libtrace.data_bytes(name, size))


class Libm:
    """The emulated math library (double functions only)."""

    _exports: ClassVar[dict[str, Export]] = {}

    def __init__(self, soname: str) -> None:
        self.soname = soname
        if not Libm._exports:
            Libm._exports.update(libm_exports())

    def provides(self, name: str) -> bool:
        return name in self._exports

    def is_data(self, name: str) -> bool:
        return False

    def function(self, name: str) -> Export | None:
        return self._exports.get(name)

    def data(self, name: str, size: int, process: Process) -> DataObject | None:
        return None


def library_for(soname: str, word: int, names: frozenset[str] | None = None
                ) -> EmulatedLibrary | None:
    """The emulated library bound to `soname` for this ABI, or None if there is none."""
    if soname in LIBC_SONAMES:
        return Libc(soname, word)
    if soname == "libm.so.6":
        return Libm(soname)
    if libtrace.is_libtrace(soname):
        return Libtrace(soname, names)
    return None
