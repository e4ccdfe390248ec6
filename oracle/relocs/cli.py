"""`linkharness fields OUTPUT INPUT...`: the relocation-field oracle on the command line.

Universal (fat) Mach-O files among them are judged by their --arch slice.
Prints one block per mismatch and a summary line; exits 0 when every field agrees, 1 when
some do not, 2 on bad usage or an unreadable file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from oracle.emulate.macho.fat import FatError, thin_path

from .binding import LinkOptions, read_dynamic_list
from .check import check_fields_report
from .unreadable import is_unreadable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkharness fields",
        description="recompute every relocated field of the inputs from the linked output")
    parser.add_argument("output", help="the linked executable")
    parser.add_argument("inputs", nargs="+", help="the relocatable objects it was linked from")
    parser.add_argument("--map", dest="link_map", help="a linkharness --map file (a hint)")
    parser.add_argument("--arch", default=None,
                        help="the slice of universal (fat) Mach-O output and inputs to judge "
                             "(default: x86_64, else i386)")
    parser.add_argument("--Bsymbolic-functions", dest="symbolic_functions",
                        action="store_true",
                        help="the shared object was linked -Bsymbolic-functions")
    parser.add_argument("--dynamic-list", dest="dynamic_list", default=None,
                        help="the dynamic list file the shared object was linked with")
    parser.add_argument("--dynamic-list-data", dest="dynamic_list_data", action="store_true",
                        help="the shared object was linked --dynamic-list-data")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list every confirmed field with its formula")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="lh-fields-") as scratch:
            output = thin_path(args.output, args.arch, scratch)
            inputs = [thin_path(p, args.arch, scratch) for p in args.inputs]
            listed = None if args.dynamic_list is None else read_dynamic_list(
                args.dynamic_list)
            options = LinkOptions(args.symbolic_functions, listed, args.dynamic_list_data)
            report = check_fields_report(output, inputs, link_map=args.link_map,
                                         link_options=options)
    except (ValueError, FatError, OSError) as err:
        print(f"linkharness fields: {err}", file=sys.stderr)
        return 2
    if is_unreadable(report):  # a file the oracle cannot read: no verdict on the fields
        m = report.mismatches[0]
        section = f"section {m.section}, " if m.section else ""
        print(f"linkharness fields: {m.file}: {section}offset {m.offset:#x}: {m.detail}",
              file=sys.stderr)
        return 2
    if args.verbose:
        for site in report.confirmed:
            rule = f" [{site.rule}]" if site.rule else ""
            print(f"ok: {site.file}({site.section}+{site.offset:#x}) {site.type_name} "
                  f"{site.symbol}: {site.formula}{rule}")
    print(report)
    return 1 if report.mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
