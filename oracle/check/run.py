"""Runs the registered rules over a file and turns every outcome into violations.

Nothing escapes as an exception: a structure that cannot be read becomes an ELF-PARSE
violation naming the place, and a defect in a rule itself becomes CHECK-INTERNAL, so one
broken table never hides what the other rules would have found.
"""

from __future__ import annotations

import os

from oracle.check import consts as c
from oracle.check.image import ElfImage, Malformed
from oracle.check.registry import RULES, Rule
from oracle.check.violation import Violation
from oracle.regular_file import read_regular

PARSE = "ELF-PARSE"
INTERNAL = "CHECK-INTERNAL"
NOT_ELF = "NOT-ELF"


def load_bytes(source: str | os.PathLike[str] | bytes) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    return read_regular(source)


def run_rules(img: ElfImage, rules: list[Rule]) -> list[Violation]:
    found: list[Violation] = []
    for r in rules:
        try:
            found.extend(Violation(r.id, where, what, r.severity)
                         for where, what in r.func(img))
        except Malformed as err:
            found.append(Violation(PARSE, err.where, err.what))
        except Exception as err:  # noqa: BLE001  (a rule's bug must not hide other findings)
            found.append(Violation(INTERNAL, r.id, f"{type(err).__name__}: {err}"))
    return list(dict.fromkeys(found))  # one ELF-PARSE per broken table, order kept


def check_elf(data: bytes) -> list[Violation]:
    try:
        img = ElfImage(data)
    except Malformed as err:
        return [Violation(PARSE, err.where, err.what)]
    return run_rules(img, RULES)


def check_bytes(data: bytes) -> list[Violation]:
    """Dispatch on the magic number: ELF here, Mach-O to oracle.check.macho."""
    if data[:4] == c.ELF_MAGIC:
        return check_elf(data)
    if data[:4] in c.MACHO_MAGICS:
        from oracle.check.macho import check_macho

        return check_macho(data)
    return [Violation(PARSE, "magic", f"neither ELF nor Mach-O (starts {data[:4].hex() or 'empty'})")]
