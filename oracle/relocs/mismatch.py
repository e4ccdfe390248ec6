"""What the field oracle reports: one FieldMismatch per wrong or unverifiable site."""

from __future__ import annotations

from dataclasses import dataclass, field

from oracle.records import quick_init

from .expect import FormulaText


@dataclass(frozen=True)
class FieldMismatch:
    """A relocation whose field in the output is not what the inputs require.

    kind: "value" (wrong bytes), "overflow" (the value does not fit; a real linker fails),
    "relaxation" (the instruction was rewritten but not into a legal relaxed form),
    "unsupported" (a type the oracle cannot check), "unplaced" (the input section cannot
    be found in the output), "unresolved" (the symbol has no address, slot or PLT entry),
    "unslid" (Mach-O: a right pointer into an MH_PIE image that nothing slides),
    "unreadable" (the output or an input cannot be read: the report's only mismatch).
    """

    kind: str
    file: str
    section: str
    offset: int
    type_name: str
    symbol: str
    formula: str = ""
    expected: bytes = b""
    actual: bytes = b""
    address: int | None = None
    disassembly: tuple[str, ...] = ()
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.file}({self.section}+{self.offset:#x})"
        at = f" at {self.address:#x}" if self.address is not None else ""
        lines = [f"{self.kind}: {where} {self.type_name} {self.symbol or '<none>'}{at}"]
        if self.formula:
            lines.append(f"  formula:  {self.formula}")
        if self.expected or self.actual:
            lines.append(f"  expected: {self.expected.hex(' ') or '-'}")
            lines.append(f"  actual:   {self.actual.hex(' ') or '-'}")
        if self.detail:
            lines.append(f"  {self.detail}")
        lines.extend(f"  {line}" for line in self.disassembly)
        return "\n".join(lines)


@quick_init
@dataclass(frozen=True)
class ConfirmedSite:
    """A field that holds what the inputs require, and the rule that accepted it."""

    file: str
    section: str
    offset: int
    type_name: str
    symbol: str
    address: int
    width: int  # bytes of the field (at `field`, which a relaxation may move from address)
    field: int
    formula_text: str | FormulaText  # spelled out on demand: see `formula`
    rule: str  # "" for the plain formula, else e.g. "mov -> lea" or "dynamic"

    @property
    def formula(self) -> str:
        return str(self.formula_text)


@dataclass(frozen=True)
class FieldReport:
    """The whole verdict: mismatches, the confirmed fields, and what was skipped."""

    mismatches: tuple[FieldMismatch, ...]
    confirmed: tuple[ConfirmedSite, ...]
    skipped: dict[str, int] = field(default_factory=dict)
    got_base: int | None = None  # the GOT address GOT-relative fields were checked against

    @property
    def checked(self) -> int:
        return len(self.confirmed)

    def __str__(self) -> str:
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items()))
        head = (f"{self.checked} relocation fields confirmed, {len(self.mismatches)} "
                f"mismatches; skipped: {skipped or 'none'}")
        return "\n".join([head, *(str(m) for m in self.mismatches)])
