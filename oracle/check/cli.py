"""`linkharness check BINARY [BINARY...]`: print one line per violation, exit 1 if any
(warnings, the findings of rules about what a link may ask for, are printed and pass).

    --list-rules   print the rule table (id, topic, source, rationale) and exit 0
    --json         print the violations as one JSON array of {file, rule, where, what}
    --arch ARCH    in a universal Mach-O file, check only that slice (default: every
                   x86_64 and i386 slice; violations name their slice)
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from oracle.check import RULES, check
from oracle.check import consts as c
from oracle.check.violation import Violation
from oracle.regular_file import read_regular


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="linkharness check",
                                description="check an executable's structure")
    p.add_argument("binaries", nargs="*", metavar="BINARY")
    p.add_argument("--list-rules", action="store_true", help="print the rule table")
    p.add_argument("--json", action="store_true", help="print violations as JSON")
    p.add_argument("--arch", help="in a universal (fat) Mach-O file, check only this slice "
                                  "(default: every x86_64 and i386 slice)")
    return p


def _macho_rules() -> list[Any]:
    # Imported on demand: the Mach-O checker pulls in the emulated dyld's reader.
    from oracle.check.macho import FAT_RULES, MACHO_RULES

    return [*MACHO_RULES, *FAT_RULES]


def rule_table() -> list[str]:
    rules = [*RULES, *_macho_rules()]
    width = max(len(r.id) for r in rules)
    return [f"{r.id:<{width}}  [{r.source}] {r.rationale}" for r in rules]


def rules_run_on(path: str, arch: str | None = None) -> int:
    """How many rules `check` applies to the file: the ELF or the Mach-O registry, the
    fat rules plus the Mach-O ones per slice checked for a universal file."""
    data = read_regular(path)
    if data[:4] not in c.MACHO_MAGICS:
        return len(RULES)
    from oracle.check.macho import FAT_RULES, MACHO_RULES
    from oracle.emulate.macho import fat

    if not fat.is_fat(data):
        return 0 if fat.not_judged(data) else len(MACHO_RULES)
    checked = [s for s in _chosen_slices(data, arch)
               if not fat.not_judged(data[s.offset:s.offset + 16])]
    return len(FAT_RULES) + len(MACHO_RULES) * len(checked)


def _chosen_slices(data: bytes, arch: str | None) -> list[Any]:
    """The slices of a fat file that `check` looks at: `arch`'s, or every x86 one."""
    from oracle.emulate.macho import fat

    try:
        slices = fat.read_fat(data)
    except fat.FatError:
        slices = []
    return [s for s in slices if (s.arch == arch if arch else s.arch in fat.READABLE_ARCHS)]


def _not_judged(path: str, arch: str | None) -> list[str]:
    """Why the file, or each slice of it that was chosen, is not judged (see
    fat.not_judged): printed after "ok", so that a pass says what it did not look at."""
    from oracle.emulate.macho import fat

    try:
        data = read_regular(path)
    except OSError:
        return []
    if data[:4] not in c.MACHO_MAGICS:
        return []
    if not fat.is_fat(data):
        reason = fat.not_judged(data)
        return [reason] if reason else []
    reasons = ((s.arch, fat.not_judged(data[s.offset:s.offset + 16]))
               for s in _chosen_slices(data, arch))
    return [f"slice {name}: {reason}" for name, reason in reasons if reason]


def _check(path: str, arch: str | None) -> list[Violation]:
    if arch is None:
        return check(path)
    from oracle.check.macho import check_macho

    data = read_regular(path)
    if data[:4] not in c.MACHO_MAGICS:
        return [Violation("ARCH", path, "--arch applies to Mach-O files only")]
    return check_macho(data, arch)


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
            results.extend((path, v) for v in _check(path, args.arch))
        except OSError as err:
            results.append((path, Violation("IO", path, err.strerror or str(err))))
    if args.json:
        print(json.dumps([{"file": f, "rule": v.rule, "where": v.where, "what": v.what,
                           "severity": v.severity} for f, v in results], indent=1))
    else:
        many = len(args.binaries) > 1
        for path, v in results:
            print(f"{path}: {v}" if many else str(v))
        if not any(v.severity == "error" for _, v in results):
            print(f"ok: {sum(rules_run_on(p, args.arch) for p in args.binaries)} rules checked")
            for path in args.binaries:
                for reason in _not_judged(path, args.arch):
                    print(f"{path}: {reason}")
    return 1 if any(v.severity == "error" for _, v in results) else 0
