"""How GNU programs name themselves and report errors: program_invocation_name and
__progname (argv[0] and its basename, set at start-up), error() and error_at_line(),
and the gettext family, which in the C locale (no message catalogue) hands back the
untranslated message.

error() is glibc's: flush stdout, "NAME: " with NAME read through the
program_invocation_name variable (a program may set it, as coreutils' set_program_name
does), the formatted message, ": strerror(errnum)" when errnum is not 0, a newline, and
exit(status) when status is not 0.  error_print_progname, error_one_per_line and
error_message_count are not provided (no program at hand imports them).
"""

from __future__ import annotations

from collections.abc import Generator

from oracle.emulate.calls import CallContext, Export, GuestCall, LibResult
from oracle.emulate.libc import stdio
from oracle.emulate.process import Process
from oracle.emulate.startup import run_exit
from oracle.emulate.streams import ProcessStreams

FULL_NAMES = ("program_invocation_name", "__progname_full")
SHORT_NAMES = ("program_invocation_short_name", "__progname")
DATA_NAMES = frozenset({*FULL_NAMES, *SHORT_NAMES})
DEFAULT_DOMAIN = b"messages"
DEFAULT_LOCALE_DIR = b"/usr/share/locale"


def create_objects(process: Process) -> None:
    """The name variables point into argv[0] itself, as glibc's start-up sets them."""
    mem, word = process.machine.mem, process.machine.abi.word
    full = int.from_bytes(mem.read(process.argv, word), "little") if process.argc > 0 else 0
    if full == 0:
        full = process.object(("empty program name",), b"\0").address
    short = full + mem.read_cstr(full).rfind(b"/") + 1
    process.object(FULL_NAMES, full.to_bytes(word, "little"))
    process.object(SHORT_NAMES, short.to_bytes(word, "little"))


def program_name(ctx: CallContext) -> bytes:
    """What program_invocation_name points at now."""
    where = ctx.process.object_address("program_invocation_name")
    return ctx.mem.read_cstr(int.from_bytes(ctx.mem.read(where, ctx.word), "little"))


def _report(ctx: CallContext, head: bytes, errnum: int, fmt: int, fixed: int) -> None:
    from oracle.emulate.macho.libsystem_extra import message_of_errno

    process = ctx.process
    process.flush(1)
    streams = ProcessStreams(process)
    stderr = streams.stderr
    streams.write(stderr, head)
    stdio.fprintf(ctx.mem, streams, stderr, fmt, ctx.varargs(fixed), word=ctx.word)
    if errnum:
        streams.write(stderr, b": " + message_of_errno(errnum))
    streams.write(stderr, b"\n")
    process.flush(2)


def _exit_with(ctx: CallContext, status: int) -> Generator[GuestCall, int, int | None]:
    yield from run_exit(ctx, status)
    return None


def error(ctx: CallContext) -> LibResult:
    status, errnum = ctx.arg(0) & 0xFFFFFFFF, ctx.arg(1) & 0xFFFFFFFF
    _report(ctx, program_name(ctx) + b": ", errnum, ctx.arg(2), 3)
    return _exit_with(ctx, status) if status else 0


def error_at_line(ctx: CallContext) -> LibResult:
    """error() with "FILE:LINE: " after the name's colon (" " when FILE is NULL)."""
    status, errnum, file, line = ctx.args(4)
    status, errnum = status & 0xFFFFFFFF, errnum & 0xFFFFFFFF
    where = (ctx.mem.read_cstr(file) + b":" + str(line & 0xFFFFFFFF).encode() + b": "
             if file else b" ")
    _report(ctx, program_name(ctx) + b":" + where, errnum, ctx.arg(4), 5)
    return _exit_with(ctx, status) if status else 0


# -- gettext in the C locale: no catalogue, every message is its msgid --

def _plural(ctx: CallContext, first: int) -> int:
    """ngettext's choice: msgid1 when n == 1, else msgid2 (the C locale's plural rule)."""
    n = ctx.arg(first + 2)
    return ctx.arg(first) if n == 1 else ctx.arg(first + 1)


def _kept_string(ctx: CallContext, label: str, text: bytes) -> int:
    return ctx.process.object((f"{label} {text!r}",), text + b"\0").address


def textdomain(ctx: CallContext) -> int:
    """The current message domain (set by a non-NULL argument; "" restores the default)."""
    name = ctx.arg(0)
    state = ctx.process.state
    if name:
        state["textdomain"] = ctx.mem.read_cstr(name) or DEFAULT_DOMAIN
    current = state.get("textdomain", DEFAULT_DOMAIN)
    return _kept_string(ctx, "textdomain", current if isinstance(current, bytes)
                        else DEFAULT_DOMAIN)


def bindtextdomain(ctx: CallContext) -> int:
    """The directory bound to the domain: a copy of the one given, else the default."""
    directory = ctx.arg(1)
    text = ctx.mem.read_cstr(directory) if directory else DEFAULT_LOCALE_DIR
    return _kept_string(ctx, "bindtextdomain", text)


def bind_textdomain_codeset(ctx: CallContext) -> int:
    codeset = ctx.arg(1)
    return _kept_string(ctx, "codeset", ctx.mem.read_cstr(codeset)) if codeset else 0


EXPORTS = (
    Export("error", 3, error),
    Export("error_at_line", 5, error_at_line),
    Export("gettext", 1, lambda ctx: ctx.arg(0)),
    Export("dgettext", 2, lambda ctx: ctx.arg(1)),
    Export("dcgettext", 3, lambda ctx: ctx.arg(1)),
    Export("ngettext", 3, lambda ctx: _plural(ctx, 0)),
    Export("dngettext", 4, lambda ctx: _plural(ctx, 1)),
    Export("dcngettext", 5, lambda ctx: _plural(ctx, 1)),
    Export("textdomain", 1, textdomain),
    Export("bindtextdomain", 2, bindtextdomain),
    Export("bind_textdomain_codeset", 2, bind_textdomain_codeset),
)
