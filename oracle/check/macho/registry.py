"""The Mach-O rule registry: the same shape as the ELF one (id, topic, one-line rationale,
source), over a `MachOFile` instead of an ELF image.

Rules are functions from a MachOFile to findings (where, what).  A rule that needs the
parsed load commands reads `file.img`, which raises MachOError when the file cannot be
parsed; the runner turns that into one MACHO-PARSE violation, so rules that judge the raw
bytes (header, load-command sizes) still report what broke the parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage

Finding = tuple[str, str]

# The authorities a rule may cite.
DYLD_LOAD_COMMANDS = "dyld3 MachOFile::validLoadCommands"
DYLD_SEGMENTS = "dyld3 MachOAnalyzer::validSegments"
DYLD_LINKEDIT = "dyld3 MachOAnalyzer::validLinkedit"
DYLD_ENTRY = "dyld3 MachOAnalyzer::validEntry"
DYLD_ARCH = "dyld3 MachOFile::validMachOForArchAndPlatform"
DYLD_BIND = "dyld3 MachOAnalyzer::forEachBind/forEachRebase"
DYLD_TRIE = "dyld3 MachOLoaded::trieWalk"
KERNEL = "xnu mach_loader"
KERNEL_PAGEZERO = "xnu mach_loader load_segment (enforce_hard_pagezero: 64-bit only)"
LD64 = "ld64 (stubs, indirect symbol table)"


@dataclass
class MachOFile:
    """The bytes, and their parse made once on first use."""

    data: bytes
    memo: dict[str, object] = field(default_factory=dict)

    @cached_property
    def _parsed(self) -> MachOImage | mi.MachOError:
        try:
            return mi.parse(self.data)
        except mi.MachOError as err:
            return err

    @property
    def img(self) -> MachOImage:
        parsed = self._parsed
        if isinstance(parsed, mi.MachOError):
            raise parsed
        return parsed


RuleFunc = Callable[[MachOFile], Iterable[Finding]]


@dataclass(frozen=True)
class MachORule:
    id: str
    topic: str
    rationale: str
    source: str
    func: RuleFunc
    # "warning": an ld64 habit that the loader and the tools do not need, which Apple's
    # own outputs break (the CLI prints it and still exits 0)
    severity: str = "error"


MACHO_RULES: list[MachORule] = []


def rule(rule_id: str, topic: str, rationale: str, source: str, *, severity: str = "error"
         ) -> Callable[[RuleFunc], RuleFunc]:
    """Register the decorated function as Mach-O rule `rule_id`."""

    def register(func: RuleFunc) -> RuleFunc:
        if any(r.id == rule_id for r in MACHO_RULES):
            raise ValueError(f"rule {rule_id} registered twice")
        MACHO_RULES.append(MachORule(rule_id, topic, rationale, source, func, severity))
        return func

    return register
