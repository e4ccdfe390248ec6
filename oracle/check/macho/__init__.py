"""The Mach-O structural checker: what xnu's loader, dyld (its dyld3 validation) and ld64
require of an x86-64 or i386 executable, each a named rule as in the ELF checker (the
magic decides the widths: header, LC_SEGMENT(_64), nlist, pointers, stub encoding).

    check_macho(data) -> list[Violation]       empty when every rule holds
    MACHO_RULES                                the registry (id, topic, rationale, source)

Modules: registry (rules, MachOFile), header (raw header and load commands), crossread
(macholib as a second reader), segments, entry, symtab, linkedit, dylibs (dylinker,
library ordinals), ordinals (SELF for imports, none in weak binds), dyldinfo (rebase, bind
and lazy-bind opcodes, export trie), relocations (classic LC_DYSYMTAB relocations),
filespace (bytes outside every segment), stubs
(capstone decoding of __stubs and __stub_helper).  The file is read through
oracle.emulate.macho.image, the emulated dyld's bounds-checked reading.
"""

from __future__ import annotations

import importlib
import itertools

from oracle.check.macho.registry import MACHO_RULES, MachOFile, MachORule
from oracle.check.violation import Violation
from oracle.emulate.macho.image import MachOError

PARSE = "MACHO-PARSE"
MAX_FINDINGS = 50  # per rule: a corrupt repeat count must not print a million lines
INTERNAL = "CHECK-INTERNAL"
TOPICS = ("header", "crossread", "segments", "filespace", "entry", "symtab", "linkedit",
          "dylibs", "ordinals", "dyldinfo", "relocations", "stubs")

for _topic in TOPICS:  # registers every rule, in the order a loader meets the structures
    importlib.import_module(f"oracle.check.macho.{_topic}")

__all__ = ["MACHO_RULES", "MachORule", "check_macho"]


def check_macho(data: bytes) -> list[Violation]:
    """Every Mach-O rule violation in `data`; never raises for bad contents."""
    f = MachOFile(data)
    found: list[Violation] = []
    for r in MACHO_RULES:
        try:
            findings = list(itertools.islice(r.func(f), MAX_FINDINGS + 1))
            found.extend(Violation(r.id, where, what) for where, what in findings[:MAX_FINDINGS])
            if len(findings) > MAX_FINDINGS:
                found.append(Violation(r.id, "...", f"more than {MAX_FINDINGS} findings; the "
                                                    "rest are not listed"))
        except MachOError as err:
            found.append(Violation(PARSE, err.where, err.what))
        except Exception as err:  # noqa: BLE001  (a rule's bug must not hide other findings)
            found.append(Violation(INTERNAL, r.id, f"{type(err).__name__}: {err}"))
    return list(dict.fromkeys(found))
