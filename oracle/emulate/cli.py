"""`linkharness run BINARY [--bind lazy|now] [--json] [--trace] [--max-instructions N]
[--timeout S] [--memory-cap BYTES] [--files DIR] [--stdin FILE] [-L DIR] [--arch ARCH]
[-- ARGS...]`,
`linkharness run --list-libc`

Runs BINARY under the emulated loader.  The program's stdout and stderr go to ours and
its exit status becomes ours.  A fault prints one line per fault to stderr
("linkharness run: fault: KIND at ADDRESS <SYMBOL>: what") and the status is 125
(134 for abort, as a shell reports SIGABRT).  With --json, one JSON object
{exit_code, stdout, stderr, trace, faults, instructions} is printed instead, and the
status is the same.  --files DIR starts the run's in-memory file system with a copy of
DIR's files (the guest's fopen & co. never touch the host's).  --stdin FILE gives the
program FILE's bytes as its standard input (`-`: ours, read to its end; default: empty).
--list-libc prints every
function and data object the emulated libraries implement, one "LIBRARY NAME" a line; a
call to anything else is an "unimplemented" fault naming it.  A universal (fat) Mach-O
binary runs its --arch slice (default x86_64, else i386).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import sys
import tempfile

from oracle.emulate.implemented import implemented
from oracle.emulate.macho.fat import FatError, thin_path
from oracle.emulate.run import DEFAULT_LIMITS, run

FAULT_STATUS = 125


def _seconds(text: str) -> float:
    """--timeout: a number of seconds; NaN would compare false with every clock reading,
    so a run given it would have no time limit at all."""
    value = float(text)
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text}")
    return value


def _positive(text: str) -> int:
    """--memory-cap, --max-instructions: a count; zero or less would end every run at
    once, as a fault of the program rather than of the command line."""
    value = int(text, 0)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive count: {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkharness run", usage="linkharness run [OPTIONS] BINARY [-- ARGS...]",
        description="run an executable under the emulated ld.so / dyld",
        epilog="The program's own arguments follow --: linkharness run ./prog -- 1 2")
    parser.add_argument("binary", nargs="?")
    parser.add_argument("--list-libc", action="store_true",
                        help="list what the emulated libraries implement, and exit")
    parser.add_argument("--bind", choices=("lazy", "now"), default="lazy")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--trace", action="store_true",
                        help="also print each library call to stderr: trace: LIB SYMBOL ARGS")
    parser.add_argument("--max-instructions", type=_positive, default=DEFAULT_LIMITS.max_instructions,
                        help="instruction budget (counting slows guest code about tenfold; "
                             "default: none, only --timeout bounds the run)")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_LIMITS.timeout)
    parser.add_argument("--memory-cap", type=_positive, default=DEFAULT_LIMITS.memory_cap)
    parser.add_argument("--files", dest="files_from", default=None, metavar="DIR",
                        help="seed the run's in-memory file system with DIR's files")
    parser.add_argument("--stdin", default=None, metavar="FILE",
                        help="the program's standard input: FILE's bytes, or ours with - "
                             "(default: empty)")
    parser.add_argument("--arch", default=None,
                        help="the slice of a universal (fat) binary to run (default: "
                             "x86_64, else i386)")
    parser.add_argument("--seed", type=int, default=None,
                        help="draw the load bases of a PIE and its shared libraries from "
                             "this seed (default: a fresh one, printed with any fault)")
    parser.add_argument("-L", dest="library_path", action="append", default=[],
                        help="where real libtrace*.so files are (to split their names)")
    return parser


def main(argv: list[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    program_args: list[str] = []
    if "--" in words:  # everything after the first -- belongs to the program
        cut = words.index("--")
        words, program_args = words[:cut], words[cut + 1 :]
    parser = _parser()
    args, extra = parser.parse_known_args(words)
    if extra:  # `run prog 1 2`: say where a program's arguments go
        parser.error(f"unrecognized arguments: {' '.join(extra)} (the program's own "
                     f"arguments follow --: linkharness run {args.binary or 'BINARY'} -- "
                     f"{' '.join(extra)})")
    if args.list_libc:
        for library, name in implemented():
            print(f"{library} {name}")
        return 0
    if args.binary is None:
        parser.error("the following arguments are required: binary")
    stdin = b""
    if args.stdin is not None:
        try:
            stdin = _read_stdin(args.stdin, args.memory_cap)
        except OSError as err:
            print(f"linkharness run: --stdin {args.stdin}: {err.strerror or err}",
                  file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="lh-run-") as scratch:
        try:
            binary = thin_path(args.binary, args.arch, scratch)
        except (FatError, OSError) as err:
            why = err.strerror if isinstance(err, OSError) and err.strerror else err
            print(f"linkharness run: {args.binary}: {why}", file=sys.stderr)
            return 2
        return _run_and_report(args, binary, program_args, stdin)


def _read_stdin(name: str, cap: int) -> bytes:
    """The guest's stdin, refused past the run's memory cap (the guest's input is held in
    its memory too)."""
    if name == "-":
        data = sys.stdin.buffer.read(cap + 1)
    else:
        # opened without blocking: open() of a FIFO no one writes waits for a writer
        # forever; so opened, it reads as empty (a writer that comes is read as a stream)
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as source:
            data = source.read(cap + 1)
    if len(data) > cap:
        raise OSError(f"more than the run's memory cap ({cap} bytes)")
    return data


def _run_and_report(args: argparse.Namespace, binary: str, program_args: list[str],
                    stdin: bytes) -> int:
    result = run(
        binary,
        [args.binary, *program_args],
        bind=args.bind,
        max_instructions=args.max_instructions,
        timeout=args.timeout,
        memory_cap=args.memory_cap,
        library_path=args.library_path,
        files_from=args.files_from,
        seed=args.seed,
        stdin=stdin,
    )
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        sys.stdout.buffer.write(result.stdout)
        sys.stdout.flush()
        sys.stderr.buffer.write(result.stderr)
        if args.trace:
            for entry in result.trace:
                hexed = " ".join(f"{a:#x}" for a in entry.args)
                print(f"trace: {entry.library} {entry.symbol} {hexed}".rstrip(),
                      file=sys.stderr)
        for fault in result.faults:
            print(f"linkharness run: {fault.describe()}", file=sys.stderr)
        if result.faults and result.seed is not None:
            print(f"linkharness run: load bases from --seed {result.seed}", file=sys.stderr)
        sys.stderr.flush()
    if result.exit_code is not None:
        return result.exit_code
    return FAULT_STATUS
