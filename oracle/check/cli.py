"""`linkharness check BINARY [BINARY...]`: print one line per violation, exit 1 if any.

    --list-rules   print the rule table (id, topic, source, rationale) and exit 0
    --json         print the violations as one JSON array of {file, rule, where, what}
"""

from __future__ import annotations

import argparse
import json

from oracle.check import RULES, check
from oracle.check.violation import Violation


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="linkharness check",
                                description="check an executable's structure")
    p.add_argument("binaries", nargs="*", metavar="BINARY")
    p.add_argument("--list-rules", action="store_true", help="print the rule table")
    p.add_argument("--json", action="store_true", help="print violations as JSON")
    return p


def rule_table() -> list[str]:
    width = max(len(r.id) for r in RULES)
    return [f"{r.id:<{width}}  [{r.source}] {r.rationale}" for r in RULES]


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
            print(f"ok: {len(RULES)} rules checked")
    return 1 if results else 0
