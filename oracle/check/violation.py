"""The one record the checker produces: a named rule, the place that breaks it, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """A broken rule.  `rule` is a registry id such as "ELF-SEG-ALIGN"; `where` names the
    structure ("PT_LOAD[2]", ".got.plt+0x10"); `what` is one line saying what is wrong."""

    rule: str
    where: str
    what: str
    # "warning": legal but only when the link asked for it (a text relocation under
    # -z notext, a library without -soname); the CLI prints it and still exits 0.
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.rule} {self.where}: {self.what}"
        return text if self.severity == "error" else f"{self.severity}: {text}"
