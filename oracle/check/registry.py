"""The rule registry: every rule has an id, a one-line rationale, and where it comes from.

A rule is a function from an `ElfImage` to findings `(where, what)`; the registry pairs it
with its id so that rule bodies never spell their own id and the table `--list-rules`
prints is the same table `check` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from oracle.check.image import ElfImage

Finding = tuple[str, str]
RuleFunc = Callable[[ElfImage], Iterable[Finding]]

# The authorities a rule may cite.
GABI = "gABI"
PSABI_X86_64 = "x86-64 psABI"
PSABI_I386 = "i386 psABI"
BINFMT = "Linux binfmt_elf"
DL_LOAD = "glibc dl-load"
DL_LOOKUP = "glibc dl-lookup"
DL_RUNTIME = "glibc dl-runtime"
DL_VERSION = "glibc dl-version"
DL_MACHINE = "glibc dl-machine"
DL_RELOC = "glibc dl-reloc"


@dataclass(frozen=True)
class Rule:
    id: str
    topic: str
    rationale: str
    source: str
    func: RuleFunc
    severity: str = "error"  # or "warning": legal when the link asked for it


RULES: list[Rule] = []


def rule(rule_id: str, topic: str, rationale: str, source: str, *, severity: str = "error"
         ) -> Callable[[RuleFunc], RuleFunc]:
    """Register the decorated function as rule `rule_id`."""

    def register(func: RuleFunc) -> RuleFunc:
        if any(r.id == rule_id for r in RULES):
            raise ValueError(f"rule {rule_id} registered twice")
        RULES.append(Rule(rule_id, topic, rationale, source, func, severity))
        return func

    return register
