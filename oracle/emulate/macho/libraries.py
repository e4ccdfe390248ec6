"""The dylibs the emulated dyld binds to: libSystem (the ELF oracle's libc and libm under
Darwin's names) and libtrace* recorders, chosen by install name.

Darwin's C symbols carry a leading underscore: `_printf` is C's printf, `_exit` is exit,
`__exit` is _exit.  So the underscore is stripped once and the rest looked up in the
emulated libc, after a few Darwin names that differ from glibc's: the stdio variables
(`___stdoutp` is glibc's `stdout`), `___error` (errno's address) and the stack protector's
guard variable.  Trace entries therefore carry C names, as ELF traces do, and the install
name as the library.

libtrace: any install name whose basename starts with "libtrace".  The symbol's leading
underscore is stripped before the name-based convention (arity from `_a<d>`, hashes) is
applied, so `_lt1_f2_a2` behaves exactly as ELF's `lt1_f2_a2`.  A Mach-O bind does not say
whether a symbol is a function or data, so a libtrace name ending in `_a<d>` is a function
and any other name is a data object (the fuzzers' naming: `ltN_fK_aK` / `ltN_dK`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oracle.emulate import libtrace
from oracle.emulate.calls import CallContext, Export
from oracle.emulate.libc_binding import LINUX_SHAPED
from oracle.emulate.libraries import DEFAULT_OBJECT_SIZE, Libc, Libm
from oracle.emulate.macho import tlv
from oracle.emulate.macho.compiler_rt import compiler_rt_exports
from oracle.emulate.macho.darwin_libc import darwin_exports, rune_locale
from oracle.emulate.macho.libsystem_stat import inode64_export
from oracle.emulate.macho.libsystem_vprintf import i386_vprintf_exports
from oracle.emulate.macho.pthreads import pthread_exports
from oracle.emulate.process import Process
from oracle.records import quick_init

LIBSYSTEM_PREFIXES = ("/usr/lib/libSystem", "/usr/lib/system/")
STUB_BINDER = "dyld_stub_binder"
# Darwin data symbol (underscore stripped) -> the emulated libc's object name
DARWIN_DATA = {"__stdinp": "stdin", "__stdoutp": "stdout", "__stderrp": "stderr",
               "environ": "environ", "NXArgc": "", "NXArgv": "", "__progname": ""}
STACK_GUARD = "__stack_chk_guard"
RUNE_LOCALE = "_DefaultRuneLocale"
GUARD_VALUE = bytes.fromhex("00c0ffee0ddba11d")
_FUNCTION = re.compile(r"_a[0-6]$")


def c_name(symbol: str) -> str:
    """The C name of a Darwin symbol: one leading underscore removed, and a variant suffix
    (`$UNIX2003`, `$DARWIN_EXTSN`, `$NOCANCEL`, `$INODE64`: what the SDK's headers make
    i386 code call, the same function for the emulation) dropped."""
    return symbol.removeprefix("_").split("$", 1)[0]


@quick_init
@dataclass(frozen=True)
class Resolved:
    """What a symbol binds to: a function (an Export) or the address of a data object."""

    export: Export | None = None
    address: int | None = None


def _errno_address(ctx: CallContext) -> int:
    return ctx.process.object(("errno",), bytes(4)).address


class LibSystem:
    """libSystem.B.dylib over the emulated libc."""

    def __init__(self, install_name: str, word: int = 8) -> None:
        self.install_name = install_name
        self.word = word  # 4: i386, whose pointers and longs are 32-bit
        self._libc = Libc(install_name, word)
        self._libm = Libm(install_name)  # libSystem holds libm (libsystem_m)
        self._darwin = darwin_exports(self._libc.function)
        self._threads = pthread_exports()
        if word == 4:  # i386 code calls libSystem's compiler runtime for 64-bit division
            self._darwin.update(compiler_rt_exports())
            self._darwin.update(i386_vprintf_exports())  # Darwin's long double cells

    def resolve(self, symbol: str, process: Process) -> Resolved | None:
        name = c_name(symbol)
        if name in DARWIN_DATA:
            return self._data(name, process)
        if name == STACK_GUARD:
            return Resolved(address=process.object((STACK_GUARD,), GUARD_VALUE).address)
        if name == RUNE_LOCALE:
            return Resolved(address=process.object((RUNE_LOCALE,), rune_locale(self.word)).address)
        if name in self._darwin:
            return Resolved(export=self._darwin[name])
        if symbol.endswith("$INODE64"):  # Darwin's 64-bit-inode struct stat
            inode64 = inode64_export(name)
            return None if inode64 is None else Resolved(export=inode64)
        if name in ("dlopen", "dlsym", "dlclose", "dlerror"):
            from oracle.emulate.macho.dlopen import DL_EXPORTS  # it needs the loader
            return Resolved(export=DL_EXPORTS[name])
        if name == "__error":
            return Resolved(export=Export("__error", 0, _errno_address))
        if name in self._threads:
            return Resolved(export=self._threads[name])
        if name == "_tlv_bootstrap":
            return Resolved(export=tlv.bootstrap_export())
        if name in LINUX_SHAPED:  # glibc's shapes, not Darwin's: unimplemented here
            return None
        export = self._libc.function(name) or self._libm.function(name)
        return Resolved(export=export) if export is not None else None

    def _data(self, name: str, process: Process) -> Resolved:
        word = self.word
        if name == "NXArgc":
            obj = process.object(("NXArgc",), process.argc.to_bytes(word, "little"))
        elif name == "NXArgv":
            obj = process.object(("NXArgv",), process.argv.to_bytes(word, "little"))
        elif name == "__progname":  # the basename of argv[0], as crt1 sets it
            mem = process.machine.mem
            arg0 = int.from_bytes(mem.read(process.argv, word), "little")
            base = arg0 + mem.read_cstr(arg0).rfind(b"/") + 1 if arg0 else 0
            obj = process.object(("__progname",), base.to_bytes(word, "little"))
        else:
            return Resolved(address=process.object_address(DARWIN_DATA[name]))
        return Resolved(address=obj.address)


class LibtraceDylib:
    """Recorders and hashed data objects named by the libtrace convention."""

    def __init__(self, install_name: str) -> None:
        self.install_name = install_name

    def resolve(self, symbol: str, process: Process) -> Resolved | None:
        name = c_name(symbol)
        if _FUNCTION.search(name):
            count = libtrace.arity(name)

            def record(ctx: CallContext) -> int:
                args = ctx.entry_args if len(ctx.entry_args) == count else ctx.args(count)
                return libtrace.call_result(name, args)

            return Resolved(export=Export(name, count, record))
        content = libtrace.data_bytes(name, DEFAULT_OBJECT_SIZE)
        return Resolved(address=process.object((name,), content).address)


Dylib = LibSystem | LibtraceDylib


def dylib_for(install_name: str, word: int = 8) -> Dylib | None:
    """The emulated dylib for an LC_LOAD_DYLIB install name, or None if there is none
    (word: the executable's pointer size, 4 for i386)."""
    if install_name.startswith(LIBSYSTEM_PREFIXES):
        return LibSystem(install_name, word)
    if libtrace.is_libtrace(install_name.rsplit("/", 1)[-1]):
        return LibtraceDylib(install_name)
    return None
