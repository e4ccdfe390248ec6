"""getopt, getopt_long and getopt_long_only with GNU semantics, and their variables.

optind, opterr, optopt and optarg are data objects of the emulated libc; an executable
that uses them COPY-relocates them, after which they live in the executable (as with
glibc), so every call reads and writes them through the variable, never a copy of ours.

What glibc keeps in its static `getopt_data` (the position inside a cluster of short
options, the ordering, the bounds of the non-options skipped so far) is kept per run
in `Process.state`; like glibc, setting optind to 0 starts over.

The algorithm is glibc's (posix/getopt.c): in the default PERMUTE order, non-options
are skipped and later rotated after the options in the guest's own argv array (so the
program sees argv rearranged exactly as natively); REQUIRE_ORDER ('+' or
POSIXLY_CORRECT) stops at the first non-option; RETURN_IN_ORDER ('-') returns each
non-option as the argument of option 1.  Long options match exactly or by an
unambiguous prefix (prefixes of options with the same has_arg/flag/val are not
ambiguous); messages go to stderr word for word as glibc prints them in the C locale.
"""

from __future__ import annotations

from dataclasses import dataclass

from oracle.emulate import environment
from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault
from oracle.emulate.process import Process

PERMUTE, REQUIRE_ORDER, RETURN_IN_ORDER = 0, 1, 2
NO_ARGUMENT, REQUIRED_ARGUMENT, OPTIONAL_ARGUMENT = 0, 1, 2
INT_VARIABLES = {"optind": 1, "opterr": 1, "optopt": ord("?")}
DATA_NAMES = frozenset({*INT_VARIABLES, "optarg"})


def create_objects(process: Process) -> None:
    """optind = 1, opterr = 1, optopt = '?', optarg = NULL, as glibc initialises them."""
    for name, value in INT_VARIABLES.items():
        process.object((name,), value.to_bytes(4, "little"))
    process.object(("optarg",), bytes(process.machine.abi.word))


@dataclass
class _Position:
    """glibc's struct _getopt_data, less the copies of the global variables."""

    initialized: bool = False
    nextchar: int = 0  # guest address inside the current argv element, or 0
    ordering: int = PERMUTE
    first_nonopt: int = 0
    last_nonopt: int = 0
    optopt: int = 0  # glibc's own copies: the variables are written from them, never read
    optarg: int = 0


@dataclass(frozen=True)
class _LongOption:
    name: bytes
    has_arg: int
    flag: int
    val: int


def _signed_char(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


class _Call:
    """One getopt call: the arguments, the variables (read in, written back at the end)
    and the position, with glibc's _getopt_internal_r as its methods."""

    def __init__(self, ctx: CallContext, long_only: bool, with_longs: bool,
                 posixly_correct: bool = False) -> None:
        self.ctx = ctx
        self.mem = ctx.mem
        self.word = ctx.word
        process = ctx.process
        self.argc = _int(ctx.arg(0))
        self.argv = ctx.arg(1)
        self.optstring = self.mem.read_cstr(ctx.arg(2))
        self.longopts = ctx.arg(3) if with_longs else 0
        self.longind = ctx.arg(4) if with_longs else 0
        self.long_only = long_only
        self.posixly_correct = posixly_correct
        state = process.state.get("getopt")
        if not isinstance(state, _Position):
            state = process.state["getopt"] = _Position()
        self.d = state
        self.optind = self._get_int("optind")
        self.opterr = self._get_int("opterr")
        self.optopt = state.optopt
        self.optarg = state.optarg  # (kept when argc < 1: glibc returns before clearing it)

    # -- guest memory --

    def _var(self, name: str) -> int:
        return self.ctx.process.object_address(name)

    def _get_int(self, name: str) -> int:
        return _int(int.from_bytes(self.mem.read(self._var(name), 4), "little"))

    def _put_int(self, name: str, value: int) -> None:
        self.mem.write(self._var(name), (value & 0xFFFFFFFF).to_bytes(4, "little"))

    def finish(self, result: int) -> int:
        """Store optind, optarg and optopt as glibc's wrapper does, and return `result`."""
        self._put_int("optind", self.optind)
        self.d.optopt, self.d.optarg = self.optopt, self.optarg
        self._put_int("optopt", self.optopt)
        self.mem.write(self._var("optarg"), self.optarg.to_bytes(self.word, "little"))
        return result

    def arg_pointer(self, index: int) -> int:
        return int.from_bytes(self.mem.read(self.argv + index * self.word, self.word), "little")

    def arg_text(self, index: int) -> bytes:
        return self.mem.read_cstr(self.arg_pointer(index))

    def char_at(self, address: int) -> int:
        return self.mem.read(address, 1)[0]

    def error(self, text: bytes) -> None:
        """One fprintf to stderr (unbuffered unless the program said otherwise)."""
        from oracle.emulate.streams import ProcessStreams

        streams = ProcessStreams(self.ctx.process)
        streams.write(streams.stderr, text)

    def program(self) -> bytes:
        return self.arg_text(0)

    # -- glibc's algorithm --

    def initialize(self, optstring: bytes) -> bytes:
        d = self.d
        if self.optind == 0:
            self.optind = 1
        d.first_nonopt = d.last_nonopt = self.optind
        d.nextchar = 0
        if optstring.startswith(b"-"):
            d.ordering, optstring = RETURN_IN_ORDER, optstring[1:]
        elif optstring.startswith(b"+"):
            d.ordering, optstring = REQUIRE_ORDER, optstring[1:]
        elif self.posixly_correct or environment.lookup(self.ctx, b"POSIXLY_CORRECT"):
            d.ordering = REQUIRE_ORDER
        else:
            d.ordering = PERMUTE
        d.initialized = True
        return optstring

    def nonoption(self, index: int) -> bool:
        text = self.mem.read(self.arg_pointer(index), 2)
        return text[0] != ord("-") or text[1] == 0

    def exchange(self) -> None:
        """Move the options [last_nonopt, optind) before the non-options
        [first_nonopt, last_nonopt) in the guest's argv (glibc's exchange())."""
        d, word = self.d, self.word
        first, middle, end = d.first_nonopt, d.last_nonopt, self.optind
        start = self.argv + first * word
        block = self.mem.read(start, (end - first) * word)
        split = (middle - first) * word
        self.mem.write(start, block[split:] + block[:split])
        d.first_nonopt += end - middle
        d.last_nonopt = end

    def run(self) -> int:
        d = self.d
        self.print_errors = self.opterr != 0
        if self.argc < 1:
            return -1
        self.optarg = 0
        optstring = self.optstring
        if not 0 <= self.optind <= self.argc:
            # glibc would read past argv's NULL (a crash, or the environment's strings)
            raise GuestFault(self.argv, f"getopt: optind {self.optind} outside argv "
                                        f"(argc {self.argc})")
        if self.optind == 0 or not d.initialized:
            optstring = self.initialize(optstring)
        elif optstring[:1] in (b"-", b"+"):
            optstring = optstring[1:]
        if optstring.startswith(b":"):
            self.print_errors = False
        self.short = optstring

        if d.nextchar == 0 or self.char_at(d.nextchar) == 0:
            found = self.next_element()
            if found is not None:
                return found
        return self.short_option()

    def next_element(self) -> int | None:
        """Advance to the next argv element; a result when the call ends there."""
        d, argc = self.d, self.argc
        d.last_nonopt = min(d.last_nonopt, self.optind)
        d.first_nonopt = min(d.first_nonopt, self.optind)
        if d.ordering == PERMUTE:
            if d.first_nonopt != d.last_nonopt and d.last_nonopt != self.optind:
                self.exchange()
            elif d.last_nonopt != self.optind:
                d.first_nonopt = self.optind
            while self.optind < argc and self.nonoption(self.optind):
                self.optind += 1
            d.last_nonopt = self.optind
        if self.optind != argc and self.arg_text(self.optind) == b"--":
            self.optind += 1
            if d.first_nonopt != d.last_nonopt and d.last_nonopt != self.optind:
                self.exchange()
            elif d.first_nonopt == d.last_nonopt:
                d.first_nonopt = self.optind
            d.last_nonopt = argc
            self.optind = argc
        if self.optind == argc:
            if d.first_nonopt != d.last_nonopt:
                self.optind = d.first_nonopt
            return -1
        if self.nonoption(self.optind):
            if d.ordering == REQUIRE_ORDER:
                return -1
            self.optarg = self.arg_pointer(self.optind)
            self.optind += 1
            return 1
        element = self.arg_pointer(self.optind)
        if self.longopts:
            text = self.mem.read_cstr(element)
            if text[1:2] == b"-":
                d.nextchar = element + 2
                return self.long_option(b"--", self.long_only)
            if self.long_only and (len(text) > 2 or text[1:2] not in self.short):
                d.nextchar = element + 1
                code = self.long_option(b"-", True)
                if code != -1:
                    return code
        d.nextchar = element + 1
        return None

    def short_option(self) -> int:
        d = self.d
        c = self.char_at(d.nextchar)
        d.nextchar += 1
        at = self.short.find(bytes([c]))
        if self.char_at(d.nextchar) == 0:
            self.optind += 1
        if at < 0 or c in (ord(":"), ord(";")):
            if self.print_errors:
                self.error(self.program() + b": invalid option -- '" + bytes([c]) + b"'\n")
            self.optopt = _signed_char(c)
            return ord("?")
        spec = self.short[at:at + 3]
        if spec[:2] == b"W;" and self.longopts:
            return self.dash_w(c)
        if spec[1:2] != b":":
            return _signed_char(c)
        rest = self.char_at(d.nextchar) != 0
        if spec[2:3] == b":":  # an optional argument: only if attached
            self.optarg = d.nextchar if rest else 0
            self.optind += 1 if rest else 0
        elif rest:
            self.optarg = d.nextchar
            self.optind += 1
        elif self.optind == self.argc:
            self.d.nextchar = 0
            return self.missing_short(c)
        else:
            self.optarg = self.arg_pointer(self.optind)
            self.optind += 1
        d.nextchar = 0
        return _signed_char(c)

    def missing_short(self, c: int) -> int:
        if self.print_errors:
            self.error(self.program() + b": option requires an argument -- '"
                       + bytes([c]) + b"'\n")
        self.optopt = _signed_char(c)
        return ord(":") if self.short.startswith(b":") else ord("?")

    def dash_w(self, c: int) -> int:
        """-W foo is --foo (optstring "W;")."""
        d = self.d
        if self.char_at(d.nextchar) != 0:
            optarg = d.nextchar
        elif self.optind == self.argc:
            return self.missing_short(c)
        else:
            optarg = self.arg_pointer(self.optind)
        d.nextchar = optarg
        self.optarg = 0
        return self.long_option(b"-W ", False)

    def options(self) -> list[_LongOption]:
        entry = 4 * self.word if self.word == 8 else 16
        out: list[_LongOption] = []
        at = self.longopts
        while True:
            raw = self.mem.read(at, entry)
            w = self.word
            name = int.from_bytes(raw[:w], "little")
            if name == 0:
                return out
            has_arg = _int(int.from_bytes(raw[w:w + 4], "little"))
            flag = int.from_bytes(raw[2 * w:3 * w], "little")
            val = _int(int.from_bytes(raw[3 * w:3 * w + 4], "little"))
            out.append(_LongOption(self.mem.read_cstr(name), has_arg, flag, val))
            at += entry

    def long_option(self, prefix: bytes, long_only: bool) -> int:
        d = self.d
        text = self.mem.read_cstr(d.nextchar)
        name, equals, _ = text.partition(b"=")
        nameend = d.nextchar + len(name)
        options = self.options()
        index = next((i for i, o in enumerate(options) if o.name == name), -1)
        if index < 0:
            matches = [i for i, o in enumerate(options) if o.name.startswith(name)]
            if matches:
                first = options[matches[0]]
                ambiguous = [i for i in matches[1:] if long_only or (
                    options[i].has_arg, options[i].flag, options[i].val)
                    != (first.has_arg, first.flag, first.val)]
                if ambiguous:
                    return self.ambiguous(prefix, text, options, [matches[0], *ambiguous])
                index = matches[0]
        if index < 0:
            if (not long_only or self.arg_text(self.optind)[1:2] == b"-"
                    or text[:1] not in self.short):  # (strchr finds a NUL: b"" is in)
                if self.print_errors:
                    self.error(self.program() + b": unrecognized option '" + prefix + text
                               + b"'\n")
                d.nextchar = 0
                self.optind += 1
                self.optopt = 0
                return ord("?")
            return -1
        found = options[index]
        self.optind += 1
        d.nextchar = 0
        if equals:
            if found.has_arg:
                self.optarg = nameend + 1
            else:
                if self.print_errors:
                    self.error(self.program() + b": option '" + prefix + found.name
                               + b"' doesn't allow an argument\n")
                self.optopt = found.val
                return ord("?")
        elif found.has_arg == REQUIRED_ARGUMENT:
            if self.optind < self.argc:
                self.optarg = self.arg_pointer(self.optind)
                self.optind += 1
            else:
                if self.print_errors:
                    self.error(self.program() + b": option '" + prefix + found.name
                               + b"' requires an argument\n")
                self.optopt = found.val
                return ord(":") if self.short.startswith(b":") else ord("?")
        if self.longind:
            self.mem.write(self.longind, (index & 0xFFFFFFFF).to_bytes(4, "little"))
        if found.flag:
            self.mem.write(found.flag, (found.val & 0xFFFFFFFF).to_bytes(4, "little"))
            return 0
        return found.val

    def ambiguous(self, prefix: bytes, text: bytes, options: list[_LongOption],
                  which: list[int]) -> int:
        """glibc lists the candidates in table order, each fprintf its own write."""
        if self.print_errors:
            self.error(self.program() + b": option '" + prefix + text
                       + b"' is ambiguous; possibilities:")
            for index in sorted(which):
                self.error(b" '" + prefix + options[index].name + b"'")
            self.error(b"\n")
        self.d.nextchar = 0
        self.optind += 1
        self.optopt = 0
        return ord("?")


def _int(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value


def _getopt(name: str, long_only: bool, with_longs: bool, posixly_correct: bool = False
            ) -> Export:
    def impl(ctx: CallContext) -> int:
        call = _Call(ctx, long_only, with_longs, posixly_correct)
        return call.finish(call.run()) & 0xFFFFFFFF

    return Export(name, 5 if with_longs else 3, impl)


EXPORTS = (
    _getopt("getopt", False, False),
    _getopt("getopt_long", False, True),
    _getopt("getopt_long_only", True, True),
    # what <unistd.h> binds getopt to in a strictly POSIX program: no permutation
    _getopt("__posix_getopt", False, False, posixly_correct=True),
)
