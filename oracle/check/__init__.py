"""The structural checker: the invariants the kernel, glibc's ld.so and the psABIs rely
on, each a named rule in a registry, checked against a linked executable.

    check(path_or_bytes) -> list[Violation]      empty when every rule holds
    Violation(rule, where, what)                 str() is "RULE where: what"
    RULES                                        the registry (id, topic, rationale, source)

Layout: `image` reads headers with bounds checks (every bad size becomes ELF-PARSE),
`tables` and `relocations` decode records in bulk, `pltwalk` decodes PLT code with
capstone and runs lazy paths on an abstract machine, `rules/<topic>` hold the rules, `run`
dispatches on the magic number and turns every outcome into violations.  To add a rule,
decorate a function `(ElfImage) -> Iterable[(where, what)]` with `registry.rule(...)` in
the module of its topic; it must stay silent on GNU ld, gold, lld and mold output
(tests/oracle/check/test_reference_linkers.py) and have a mutation test that makes it fire.
"""

from __future__ import annotations

import os
import sys
import types

from oracle.check import rules as _rules  # noqa: F401  (registers every rule)
from oracle.check.registry import RULES, Rule
from oracle.check.run import PARSE, check_bytes, load_bytes
from oracle.check.violation import Violation
from oracle.collector import collector_paused
from oracle.regular_file import FileTooLarge

__all__ = ["RULES", "Rule", "Violation", "check"]


@collector_paused
def check(path_or_bytes: str | os.PathLike[str] | bytes) -> list[Violation]:
    """Every rule violation in an executable: ELF here, Mach-O through oracle.check.macho.
    Never raises for bad contents; an unreadable path raises OSError."""
    try:
        data = load_bytes(path_or_bytes)
    except FileTooLarge as e:  # the rules scan the whole file: past the limit, no rule runs
        return [Violation(PARSE, "file", e.strerror or str(e))]
    except MemoryError:  # a file of gigabytes: a finding about its size, not a traceback
        size = (len(path_or_bytes) if isinstance(path_or_bytes, bytes)
                else os.path.getsize(path_or_bytes))
        return [Violation(PARSE, "file", f"{size} bytes do not fit in memory")]
    return check_bytes(data)


class _CallableModule(types.ModuleType):
    """`oracle.check(path)` is the documented call, but importing this submodule makes the
    package attribute `oracle.check` this module, not the function: calling the module
    calls the function, so the call works whichever of the two a caller reaches."""

    def __call__(self, path_or_bytes: str | os.PathLike[str] | bytes) -> list[Violation]:
        return check(path_or_bytes)


sys.modules[__name__].__class__ = _CallableModule
