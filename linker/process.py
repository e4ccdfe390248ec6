"""The linker as a whole process (`python -m linker`, `python -m linker.macho`, the shims):
set up for a fast start, run the command line, and leave without tearing down.

A compiler driver starts the linker once per link, so what a small link costs is mostly
the process's own start and end: numpy's import, with OpenBLAS starting a thread per core
(one is enough: the linker never calls BLAS), and at the end the interpreter freeing every
module and array one by one (~10 ms with numpy loaded).  Once the command has run, its
output files are closed and renamed, so the process flushes what it printed, keeps the
record methods it compiled (`records.save_compiled`) and ends with `os._exit` (a normal
exit when a profiler or coverage tool watches the process and must write its report).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn


def ld_main() -> NoReturn:
    """GNU ld's command line (`python -m linker`, the gcc shim)."""
    _prepare()
    from .cli import main
    _finish(main)


def ld64_main() -> NoReturn:
    """ld64's command line (`python -m linker.macho`, the clang shim)."""
    _prepare()
    from .macho.cli import main
    _finish(main)


def _prepare() -> None:
    # Read by OpenBLAS when numpy loads it, so set before the first numpy import; a
    # caller's own choice stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # No cycle collection in a process that ends with os._exit: a link pauses it anyway
    # (api.collector_paused), and turning it back on afterwards would walk every object a
    # large link made (60 ms of a 2,000-object link) only to free what exit drops.
    gc.disable()
    if len(sys.argv) > _MANY_INPUTS:
        _keep_freed_memory()
    # A build's timeout or a closed terminal ends the link by SIGTERM or SIGHUP: unwind
    # like Ctrl-C, so that the staged outputs are removed (output_files), then leave as
    # killed by that signal.  A signal the caller ignores (nohup) stays ignored.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _unwind)


class _Stopped(BaseException):
    """Raised by a terminating signal's handler: not an error of the link, nothing to
    report, but every `finally` on the way out must run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _unwind(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def _leave_by_signal(signum: int) -> NoReturn:
    """End as the signal's default action would have (a make or a shell sees the signal,
    not an exit status), with no traceback and no teardown."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # not reached: the default action of these signals ends us


# A command line this long is a large link (a small one names a few dozen files).
_MANY_INPUTS = 256
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters


def _keep_freed_memory() -> None:
    """Large links: glibc's malloc keeps what the process frees for its next allocations
    instead of handing it back to the kernel (arrays of a megabyte or more are mapped and
    unmapped by default), so a page is faulted in once rather than once per array that
    uses it: a third of a 2,000-object link's page faults, and most of its system time.
    Not for small links, which do not pay for importing ctypes back."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest: bigger ones are mapped
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
        libc.mallopt(_M_TOP_PAD, 64 << 20)
    except (OSError, AttributeError):  # not glibc: its defaults stand
        pass


# Set by the link server's child (linker/link_server_child.py): told the exit status once the
# outputs are in place and everything printed is flushed, it tells the client, which
# then need not wait for this process to be torn down.
report_exit: Callable[[int], None] | None = None


def _finish(main: Callable[[], int]) -> NoReturn:
    try:
        code = main()
    except BrokenPipeError:  # the reader went away (`ld --help | head -1`): no traceback
        code = 1
    except KeyboardInterrupt:  # Ctrl-C (or the link server's client gone): unwound
        _leave_by_signal(signal.SIGINT)
    except _Stopped as stop:
        _leave_by_signal(stop.signum)
    from .records import save_compiled
    save_compiled()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: what was printed is lost either way
        code = code or 1
    if report_exit is not None:
        report_exit(code)
    if _observed():
        sys.exit(code)  # a profiler or coverage tool writes its report at exit
    os._exit(code)


# Tools that run the linker inside their own process and write what they saw at its normal
# end (`python -m pyinstrument -m linker`, `python -m cProfile`, coverage's subprocess hook):
# leaving by os._exit would lose their report.
_OBSERVERS = ("pyinstrument", "cProfile", "profile", "coverage", "yappi")


def _observed() -> bool:
    return sys.gettrace() is not None or sys.getprofile() is not None or \
        any(name in sys.modules for name in _OBSERVERS)
