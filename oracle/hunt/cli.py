"""`linkharness hunt`: judge another linker with the fuzz properties for a while.

    linkharness hunt --subject NAME [--seconds N] [--subject-cmd 'PATH {args}']
                     [--dest DIR] [--property PYTEST_ID ...] [--allow RULE ...]
    linkharness hunt --pull [--subject NAME] [--dest DIR] [--property PYTEST_ID ...]

Each shrunk failure becomes a corpus case under DIR (default: hunt-cases/) with a
triage.json; the campaign record beside them feeds `linkharness report`.  `--pull` draws
nothing: it replays the failures a `make fuzz` campaign saved in its database
(LINKHARNESS_FUZZ_DB, shared by every machine of the campaign, or .hypothesis/examples) and
keeps those the same way; run it from the directory the campaign ran in.  Exit status: 0
when nothing was found, 1 when cases were written, 2 when the hunt could not run.
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

SUBJECT_NAMES = ("linkharness", "bfd", "gold", "lld", "mold", "ld64.lld", "cmd")


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text}")
    return value


def _checker_rules() -> set[str]:
    from oracle.check.cli import _macho_rules
    from oracle.check.registry import RULES

    return {r.id for r in [*RULES, *_macho_rules()]}


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the command line before anything is fuzzed, if anything (a
    missing subject program once 'found' a case per property, each its failure to run)."""
    if args.subject == "cmd":
        try:
            words = shlex.split(args.subject_cmd)
        except ValueError as e:
            return f"--subject-cmd: {e}"
        if not words or "{args}" not in args.subject_cmd:
            return "--subject-cmd must name a program and hold {args}"
        if shutil.which(words[0]) is None:
            return f"--subject-cmd: {words[0]}: no such program"
    unknown = sorted(set(args.allow) - _checker_rules())
    if unknown:
        return (f"--allow {', '.join(unknown)}: no such checker rule "
                "(`linkharness check --list-rules` lists them)")
    dest = Path(args.dest)
    if dest.exists() and not dest.is_dir():
        return f"--dest {dest}: exists and is not a directory"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="linkharness hunt",
                                     description="fuzz another linker in the subject's seat")
    parser.add_argument("--subject", choices=SUBJECT_NAMES,
                        help="required unless --pull (then default: linkharness)")
    parser.add_argument("--pull", action="store_true",
                        help="replay the campaign database's failures into corpus cases")
    parser.add_argument("--subject-cmd", metavar="'PATH {args}'",
                        help="with --subject cmd: the linker command; {args} is GNU ld's "
                             "command line")
    parser.add_argument("--seconds", type=_seconds, default=60.0,
                        help="the fuzz budget shared by the properties (default 60)")
    parser.add_argument("--dest", default="hunt-cases",
                        help="where found cases and the campaign record go")
    parser.add_argument("--property", action="append", default=[], metavar="PYTEST_ID",
                        help="a property to run (repeatable; default: every property that "
                             "links with the subject's formats)")
    parser.add_argument("--allow", action="append", default=[], metavar="RULE",
                        help="a checker rule (e.g. ELF-ZERO-FILL) the subject may break, so "
                             "the hunt looks past it (repeatable)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.subject is None:
        if not args.pull:
            parser.error("--subject is required (unless --pull)")
        args.subject = "linkharness"
    if args.subject == "cmd" and not args.subject_cmd:
        parser.error("--subject cmd needs --subject-cmd")
    problem = _usage_problem(args)
    if problem is not None:
        parser.error(problem)
    from .campaign import run_hunt

    campaign = run_hunt(args.subject, args.seconds, Path(args.dest),
                        subject_cmd=args.subject_cmd, properties=args.property,
                        allow=args.allow, pull=args.pull)
    print(f"{args.subject} {campaign.subject_version or ''}: {campaign.examples} examples in "
          f"{campaign.elapsed:g}s, {len(campaign.cases)} case(s) found")
    for case_id in campaign.cases:
        print(f"  {Path(args.dest) / case_id}")
    if args.pull and campaign.pytest_exit in (0, 1):
        # properties that keep no case (fuzz/keep.py) still fail on what they replayed
        for nodeid in campaign.failures:
            print(f"  replayed a failure that keeps no case: pytest '{nodeid}' "
                  "--hypothesis-profile=replay")
        return 1 if campaign.cases or campaign.failures else 0
    lost = [] if campaign.cases else campaign.failures
    if campaign.pytest_exit not in (0, 1) or lost:
        print(f"the properties did not run cleanly (pytest exit {campaign.pytest_exit}; "
              f"failed: {', '.join(campaign.failures) or 'none'})", file=sys.stderr)
        return 2
    return 1 if campaign.cases else 0
