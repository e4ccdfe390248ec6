"""The Mach-O structural checker: what xnu's loader, dyld (its dyld3 validation) and ld64
require of an x86-64 or i386 executable, each a named rule as in the ELF checker (the
magic decides the widths: header, LC_SEGMENT(_64), nlist, pointers, stub encoding).

    check_macho(data) -> list[Violation]       empty when every rule holds
    MACHO_RULES                                the registry (id, topic, rationale, source)

Modules: registry (rules, MachOFile), header (raw header and load commands), crossread
(macholib as a second reader), segments, entry, symtab, linkedit, dylibs (dylinker,
library ordinals), exports (LC_ID_DYLIB's name, each export in a section and at its symbol), ordinals (SELF for imports, none in weak binds), dyldinfo (rebase, bind
and lazy-bind opcodes, export trie), chains (LC_DYLD_CHAINED_FIXUPS), weak (coalescing flags, own weak slots weakly bound), tlv (thread-local descriptors), relocations (classic LC_DYSYMTAB relocations),
filespace (bytes outside every segment), stabs (the debug map), stubs
(capstone decoding of __stubs and __stub_helper), fat (the universal header's rules;
each readable slice is checked as a thin file).  The file is read through
oracle.emulate.macho.image, the emulated dyld's bounds-checked reading.
"""

from __future__ import annotations

import importlib
import itertools

from oracle.check.macho.registry import MACHO_RULES, MachOFile, MachORule
from oracle.check.violation import Violation
from oracle.emulate.macho.fat import is_fat, not_judged
from oracle.emulate.macho.image import MachOError

PARSE = "MACHO-PARSE"
MAX_FINDINGS = 50  # per rule: a corrupt repeat count must not print a million lines
INTERNAL = "CHECK-INTERNAL"
TOPICS = ("header", "crossread", "segments", "filespace", "entry", "symtab", "linkedit",
          "dylibs", "exports", "ordinals", "dyldinfo", "chains", "weak", "tlv", "relocations",
          "stubs", "stabs")

for _topic in TOPICS:  # registers every rule, in the order a loader meets the structures
    importlib.import_module(f"oracle.check.macho.{_topic}")

from oracle.check.macho.fat import FAT_RULES, check_fat  # after the rules it runs

__all__ = ["FAT_RULES", "MACHO_RULES", "MachORule", "check_macho"]


def check_macho(data: bytes, arch: str | None = None) -> list[Violation]:
    """Every Mach-O rule violation in `data`; never raises for bad contents.  A universal
    (fat) file gets the fat header's rules and each readable slice is checked (only the
    slice `arch` names, when given); a slice's violations say `slice ARCH:`."""
    if is_fat(data):
        return check_fat(data, arch, check_macho)
    if not_judged(data) is not None:
        return []  # arm64, a dSYM, an archive: not a linked x86 image (rules_run_on: 0)
    return run_rules(MachOFile(data), MACHO_RULES)


def run_rules(f: MachOFile, rules: list[MachORule]) -> list[Violation]:
    found: list[Violation] = []
    for r in rules:
        try:
            findings = list(itertools.islice(r.func(f), MAX_FINDINGS + 1))
            found.extend(Violation(r.id, where, what, r.severity)
                         for where, what in findings[:MAX_FINDINGS])
            if len(findings) > MAX_FINDINGS:
                found.append(Violation(r.id, "...", f"more than {MAX_FINDINGS} findings; the "
                                                    "rest are not listed", r.severity))
        except MachOError as err:
            found.append(Violation(PARSE, err.where, err.what))
        except Exception as err:  # noqa: BLE001  (a rule's bug must not hide other findings)
            found.append(Violation(INTERNAL, r.id, f"{type(err).__name__}: {err}"))
    return list(dict.fromkeys(found))
