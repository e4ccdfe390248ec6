"""Program start-up and exit, as glibc >= 2.34 runs them for a dynamically linked program.

__libc_start_main(main, argc, argv, init, fini, rtld_fini, stack_end): DT_PREINIT_ARRAY,
DT_INIT, DT_INIT_ARRAY (each called with argc, argv, envp), then main(argc, argv, envp),
then exit(main's result).  exit runs the atexit/__cxa_atexit handlers newest first, then
what ld.so's _dl_fini does (DT_FINI_ARRAY in reverse, then DT_FINI: the executable's,
then each real shared library's),
flushes stdio and ends the process.  Older crt1.o files pass __libc_csu_init as `init`;
then that function runs the arrays itself and is called instead.
"""

from __future__ import annotations

from collections.abc import Generator

from oracle.emulate import dynamic as dt
from oracle.emulate.calls import CallContext, Export, GuestCall, ProgramExit
from oracle.emulate.process import AtExit
from oracle.emulate.result import Fault

Steps = Generator[GuestCall, int, int | None]


def libc_start_main(ctx: CallContext) -> Steps:
    main, argc, argv, init = ctx.arg(0), ctx.arg(1), ctx.arg(2), ctx.arg(3)
    fini = ctx.arg(4)
    process = ctx.process
    envp = argv + (argc + 1) * ctx.word
    process.argc, process.argv = argc, argv
    startup_args = (argc, argv, envp)
    if fini:
        process.atexit.append(AtExit(fini, ()))
    program = process.program
    if init:
        yield GuestCall(init, startup_args)
    elif program is not None:
        for func in program.array(dt.DT_PREINIT_ARRAY, dt.DT_PREINIT_ARRAYSZ):
            yield GuestCall(func, startup_args)
        if program.get(dt.DT_INIT):
            yield GuestCall(program.get(dt.DT_INIT), startup_args)
        for func in program.array(dt.DT_INIT_ARRAY, dt.DT_INIT_ARRAYSZ):
            yield GuestCall(func, startup_args)
    status = yield GuestCall(main, startup_args)
    yield from run_exit(ctx, status & 0xFFFFFFFF)
    return None


def run_exit(ctx: CallContext, status: int) -> Steps:
    """exit(status): what the process runs first (Darwin: the thread's thread_local
    destructors), handlers newest first (ones registered meanwhile run too), then the
    executable's destructors, then stdio is flushed."""
    process = ctx.process
    for before in process.before_exit:
        yield from before(ctx)
    while process.atexit:
        entry = process.atexit.pop()
        yield GuestCall(entry.function, entry.args)
    finis = [process.program] if process.program is not None else []
    for dyn in [*finis, *process.library_finis]:  # the executable was initialised last
        for func in reversed(dyn.array(dt.DT_FINI_ARRAY, dt.DT_FINI_ARRAYSZ)):
            yield GuestCall(func, ())
        if dyn.get(dt.DT_FINI):
            yield GuestCall(dyn.get(dt.DT_FINI), ())
    process.flush()
    raise ProgramExit(status & 0xFF)


def exit_(ctx: CallContext) -> Steps:
    yield from run_exit(ctx, ctx.arg(0))
    return None


def exit_now(ctx: CallContext) -> int:
    """_exit / _Exit: no handlers, and unflushed stdio output is lost, as in glibc."""
    raise ProgramExit(ctx.arg(0) & 0xFF)


def abort(ctx: CallContext) -> int:
    pc = ctx.abi_return_address()
    raise ProgramExit(134, Fault("abort", pc, ctx.machine.symbol_at(pc),
                                 "abort() called (SIGABRT, status 134)"))


def atexit(ctx: CallContext) -> int:
    ctx.process.atexit.append(AtExit(ctx.arg(0), (0,)))
    return 0


def cxa_atexit(ctx: CallContext) -> int:
    ctx.process.atexit.append(AtExit(ctx.arg(0), (ctx.arg(1),), ctx.arg(2)))
    return 0


def cxa_finalize(ctx: CallContext) -> Steps:
    """Run (and forget) the handlers registered with this DSO handle; all of them for 0."""
    dso = ctx.arg(0)
    process = ctx.process
    index = len(process.atexit)
    while index > 0:
        index -= 1
        if index >= len(process.atexit):
            continue
        entry = process.atexit[index]
        if dso == 0 or entry.dso == dso:
            del process.atexit[index]
            yield GuestCall(entry.function, entry.args)
    return None


def stack_chk_fail(ctx: CallContext) -> int:
    pc = ctx.abi_return_address()
    ctx.process.write_fd(2, b"*** stack smashing detected ***: terminated\n")
    raise ProgramExit(134, Fault("abort", pc, ctx.machine.symbol_at(pc),
                                 "__stack_chk_fail: stack smashing detected"))


def assert_fail(ctx: CallContext) -> int:
    expr, file, line, func = ctx.arg(0), ctx.arg(1), ctx.arg(2), ctx.arg(3)
    mem = ctx.mem
    prog = mem.read_cstr(mem_word(ctx, ctx.process.argv)) if ctx.process.argv else b""
    text = (prog + b": " + mem.read_cstr(file) + b":" + str(line & 0xFFFFFFFF).encode()
            + b": " + (mem.read_cstr(func) + b": " if func else b"")
            + b"Assertion `" + mem.read_cstr(expr) + b"' failed.\n")
    ctx.process.write_fd(2, text)
    return abort(ctx)


def mem_word(ctx: CallContext, addr: int) -> int:
    return int.from_bytes(ctx.mem.read(addr, ctx.word), "little")


EXPORTS = (
    Export("__libc_start_main", 7, libc_start_main),
    Export("exit", 1, exit_),
    Export("_exit", 1, exit_now),
    Export("_Exit", 1, exit_now),
    Export("abort", 0, abort),
    Export("atexit", 1, atexit),
    Export("__cxa_atexit", 3, cxa_atexit),
    Export("__cxa_finalize", 1, cxa_finalize),
    Export("__stack_chk_fail", 0, stack_chk_fail),
    Export("__assert_fail", 4, assert_fail),
)
