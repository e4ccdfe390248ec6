"""`linkharness check BINARY [BINARY...]`: print one line per violation, exit 1 if any.

    --list-rules   print the rule table (id, topic, source, rationale) and exit 0
    --json         print the violations as one JSON array of {file, rule, where, what}
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from oracle.check import RULES, check
from oracle.check import consts as c
from oracle.check.violation import Violation


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="linkharness check",
                                description="check an executable's structure")
    p.add_argument("binaries", nargs="*", metavar="BINARY")
    p.add_argument("--list-rules", action="store_true", help="print the rule table")
    p.add_argument("--json", action="store_true", help="print violations as JSON")
    return p


def _macho_rules() -> list[Any]:
    # Imported on demand: the Mach-O checker pulls in the emulated dyld's reader.
    from oracle.check.macho import MACHO_RULES

    return list(MACHO_RULES)


def rule_table() -> list[str]:
    rules = [*RULES, *_macho_rules()]
    width = max(len(r.id) for r in rules)
    return [f"{r.id:<{width}}  [{r.source}] {r.rationale}" for r in rules]


def rules_run_on(path: str) -> int:
    """How many rules `check` applies to the file: the ELF or the Mach-O registry."""
    with Path(path).open("rb") as f:
        magic = f.read(4)
    return len(_macho_rules()) if magic in c.MACHO_MAGICS else len(RULES)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.list_rules:
        print("\n".join(rule_table()))
        return 0
    if not args.binaries:
        _parser().print_usage()
        return 2
    results: list[tuple[str, Violation]] = []
    for path in args.binaries:
        try:
            results.extend((path, v) for v in check(path))
        except OSError as err:
            results.append((path, Violation("IO", path, err.strerror or str(err))))
    if args.json:
        print(json.dumps([{"file": f, "rule": v.rule, "where": v.where, "what": v.what}
                          for f, v in results], indent=1))
    else:
        many = len(args.binaries) > 1
        for path, v in results:
            print(f"{path}: {v}" if many else str(v))
        if not results:
            print(f"ok: {sum(rules_run_on(p) for p in args.binaries)} rules checked")
    return 1 if results else 0
