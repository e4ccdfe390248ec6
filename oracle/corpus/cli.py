"""`linkharness corpus`: replay, add and list regression cases.

    linkharness corpus replay [DIR] [--linker NAME] [--bind lazy|now] [--jobs N] [--judge J]
    linkharness corpus add OBJ... --caught TEXT --origin TEXT [--expect-exit N | ...]
    linkharness corpus list [DIR]

`replay` exits 1 when any case fails (so `git bisect run linkharness corpus replay` finds
the commit that broke one), 2 on a usage error, 0 otherwise.  A case that fails as its
`known` entry for the linker's installed version records is KNOWN, one that passes
although so recorded is FIXED, and a linker that cannot link a case's target is N/A:
none of them is a failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from oracle.json_file import JsonFileError, read_json
from oracle.regular_file import read_regular

from .judges import JUDGES
from .model import BIND_MODES, HASH_STYLES, TARGETS, CaseFormatError
from .progress import Progress
from .replay import (
    ERROR,
    FAIL,
    FIXED,
    KNOWN,
    NOT_APPLICABLE,
    PASS,
    CaseResult,
    replay_case,
    result_to_json,
)
from .store import default_corpus_dir, find_cases, load_case
from .table import format_table
from .toolchain import LINKERS


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return 2
    handler = {"replay": _replay, "add": _add, "list": _list}[args.command]
    return handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linkharness corpus",
                                     description="the regression corpus")
    sub = parser.add_subparsers(dest="command")
    rep = sub.add_parser("replay", help="link and run every case; exit 1 on a regression")
    rep.add_argument("dir", nargs="?", help="corpus or case directory (default: corpus/)")
    rep.add_argument("--linker", choices=LINKERS, default="linkharness")
    rep.add_argument("--bind", choices=BIND_MODES,
                     help="run every case in this bind mode only (default: each case's own)")
    rep.add_argument("--judge", choices=JUDGES, action="append",
                     help="run under this judge only (repeatable; default: all available)")
    rep.add_argument("--jobs", "-j", type=int, default=1, help="cases replayed in parallel")
    rep.add_argument("--keep", metavar="DIR", help="keep the linked executables in DIR")
    rep.add_argument("--json", metavar="FILE",
                     help="also write the results as JSON (what `linkharness report` reads)")
    add = sub.add_parser("add", help="add a case from objects and an expectation")
    add.add_argument("objects", nargs="+", help="input files, in link order")
    add.add_argument("--dest", help="corpus directory (default: corpus/)")
    add.add_argument("--id", dest="case_id", help="case id (default: derived from --caught)")
    add.add_argument("--caught", required=True, help="what bug the case catches")
    add.add_argument("--origin", required=True, help="compiler, fuzz seed or bug report")
    add.add_argument("--expect-exit", type=int, default=0)
    add.add_argument("--expect-stdout", default="")
    add.add_argument("--expect-trace", metavar="JSON", help="file holding the expected trace")
    add.add_argument("--expect-link-error", metavar="REGEX", help="the link must fail so")
    add.add_argument("--target", choices=TARGETS, default="elf64-x86-64")
    add.add_argument("--entry", default="_start")
    add.add_argument("-l", dest="libs", action="append", default=[], metavar="NAME",
                     help="link with -lNAME after the objects (repeatable; -lc works)")
    add.add_argument("--crt", action="store_true", help="link with the system crt files")
    add.add_argument("--bind-now", action="store_true", help="link with -z now")
    add.add_argument("--pie", action="store_true", help="link with -pie")
    add.add_argument("--hash-style", choices=HASH_STYLES, help="link with --hash-style=")
    add.add_argument("--ibt-plt", action="store_true", help="link with -z ibtplt")
    add.add_argument("--emit-relocs", action="store_true", help="link with --emit-relocs")
    add.add_argument("--bind", choices=BIND_MODES, action="append", help="run-time bind modes")
    add.add_argument("--source", metavar="FILE", action="append", default=[],
                     help="a .s/.c file the objects came from, kept beside them (repeatable)")
    add.add_argument("--known", action="append", default=[], metavar="LINKER=REASON",
                     help="a known disagreement: REASON starts with the linker's version "
                          "(repeatable)")
    add.add_argument("--verify", choices=LINKERS, metavar="LINKER",
                     help="replay the new case with LINKER and remove it if it fails")
    lst = sub.add_parser("list", help="list the cases")
    lst.add_argument("dir", nargs="?", help="corpus directory (default: corpus/)")
    return parser


def _replay_one(directory: str, linker: str, bind: str | None,
                judges: list[str] | None, keep: str | None) -> CaseResult:
    try:
        case = load_case(directory)
    except CaseFormatError as e:
        return CaseResult(Path(directory).name, linker, ERROR, (str(e),), 0.0)
    workdir = Path(keep) / case.id if keep else None
    return replay_case(case, linker, workdir, bind=[bind] if bind else None, judges=judges)


def _replay(args: argparse.Namespace) -> int:
    dirs = find_cases(args.dir)
    if not dirs:
        print(f"no cases under {args.dir or default_corpus_dir()}", file=sys.stderr)
        return 2
    progress = Progress(len(dirs))
    jobs = [(str(d), args.linker, args.bind, args.judge, args.keep) for d in dirs]
    results: list[CaseResult] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for res in pool.map(_replay_one, *zip(*jobs)):
                results.append(res)
                progress.advance(res.case_id, not res.is_failure)
    else:
        for job in jobs:
            res = _replay_one(*job)
            results.append(res)
            progress.advance(res.case_id, not res.is_failure)
    progress.close()
    rows = [[r.case_id, r.status.upper(), f"{r.seconds:.2f}s", r.summary()] for r in results]
    print(format_table(["case", "result", "time", "detail"], rows))
    failed = sum(r.is_failure for r in results)
    version = next((r.version for r in results if r.version), None)
    print(f"\n{_tally(results)} ({args.linker} {version or 'version unknown'})")
    if args.json:
        Path(args.json).write_text(json.dumps([result_to_json(r) for r in results], indent=1)
                                   + "\n", encoding="utf-8")
    return 1 if failed else 0


def _tally(results: Sequence[CaseResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    words = {PASS: "passed", FAIL: "failed", ERROR: "errors", KNOWN: "known", FIXED: "fixed",
             NOT_APPLICABLE: "n/a"}
    shown = [PASS, FAIL] + [s for s in (KNOWN, FIXED, ERROR, NOT_APPLICABLE) if counts.get(s)]
    return ", ".join(f"{counts.get(s, 0)} {words[s]}" for s in shown)


def _add(args: argparse.Namespace) -> int:
    from .store import add_case

    expect: dict[str, Any] = {"exit_code": args.expect_exit, "stdout": args.expect_stdout}
    if args.expect_link_error is not None:
        expect = {"exit_code": None, "link_error": args.expect_link_error}
    link_args = {"entry": args.entry, "libs": [f"-l{n}" for n in args.libs], "crt": args.crt,
                 "bind_now": args.bind_now, "pie": args.pie, "hash_style": args.hash_style,
                 "ibt_plt": args.ibt_plt, "emit_relocs": args.emit_relocs}
    dest = Path(args.dest) if args.dest else default_corpus_dir()
    known = dict(item.split("=", 1) for item in args.known if "=" in item)
    try:
        if args.expect_trace:
            expect["trace"] = read_json(args.expect_trace)
        sources = {Path(f).name: _source_text(f) for f in args.source}
        path = add_case(dest, args.objects, link_args, expect, args.origin, args.caught,
                        case_id=args.case_id, bind=args.bind or BIND_MODES, sources=sources,
                        target=args.target, known=known)
    except (CaseFormatError, FileExistsError, OSError, JsonFileError) as e:
        print(f"linkharness corpus add: {e}", file=sys.stderr)
        return 1
    if args.verify:
        with tempfile.TemporaryDirectory() as tmp:
            res = replay_case(load_case(path), args.verify, tmp)
        if not res.passed:
            shutil.rmtree(path)
            print(f"linkharness corpus add: not added, {args.verify} does not meet the "
                  f"expectation: {res.summary()}", file=sys.stderr)
            return 1
    print(path)
    return 0


def _source_text(path: str) -> str:
    """A --source file's text (kept in the case): a regular UTF-8 file of at most 16 MiB."""
    try:
        return read_regular(path, SOURCE_LIMIT).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CaseFormatError(f"--source {path}: not UTF-8 (byte {e.start})") from None
    except OSError as e:
        raise CaseFormatError(f"--source {path}: {e.strerror or e}") from None


SOURCE_LIMIT = 16 << 20


def _list(args: argparse.Namespace) -> int:
    rows = []
    for directory in find_cases(args.dir):
        try:
            case = load_case(directory)
        except CaseFormatError as e:
            rows.append([directory.name, "INVALID", "", str(e)])
            continue
        exp = case.expect
        if exp.link_error is not None:
            what = f"link error /{exp.link_error}/"
        else:
            what = f"exit {exp.exit_code}" + (" +trace" if exp.trace is not None else "")
        rows.append([case.id, what, case.origin, case.caught])
    print(format_table(["case", "expect", "origin", "caught"], rows, max_width=60))
    return 0
