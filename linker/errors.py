"""LinkError, and the one channel every diagnostic of a link goes through.

A message is one line naming where the problem is (file, section, offset, symbol, as far as
they are known) and the rule that was broken, e.g.

    main.o: section .text+0x1c: symbol printf: R_X86_64_32 value 0x1_0000_0000 overflows ...

Each one is also a `Diagnostic` record, so that callers (the oracle, the corpus) can compare
diagnostics between linkers without parsing text.  A link collects its errors (every
undefined symbol, every relocation overflow) up to an error limit, as lld does, and raises
one LinkError carrying them all; warnings are collected beside them and returned in
`LinkResult.warnings`, or become errors under `--fatal-warnings`.
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from .records import dataclass, field

_ESCAPE_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(32), 127]}
DEFAULT_ERROR_LIMIT = 20  # lld's --error-limit default


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning; `str()` is its one-line text (without `error:`/`warning:`)."""

    rule: str
    file: str | None = None
    section: str | None = None
    offset: int | None = None
    symbol: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where: list[str] = []
        if self.file:
            where.append(self.file)
        if self.section is not None:
            sec = f"section {self.section}"
            if self.offset is not None:
                sec += f"+{self.offset:#x}"
            where.append(sec)
        elif self.offset is not None:
            where.append(f"offset {self.offset:#x}")
        if self.symbol:
            where.append(f"symbol {self.symbol}")
        # Names come from the input: a control character in one must not break the line.
        return ": ".join([*where, self.rule]).translate(_ESCAPE_CONTROLS)


class LinkError(Exception):
    """A link that cannot be done.  `diagnostics` holds every error found (at least one);
    `str()` is their lines, one per error (one line for the usual single error).  `rule`,
    `file`, `section`, `offset` and `symbol` are the first error's."""

    def __init__(
        self,
        rule: str,
        *,
        file: str | None = None,
        section: str | None = None,
        offset: int | None = None,
        symbol: str | None = None,
        diagnostics: Sequence[Diagnostic] = (),
        warnings: Sequence[Diagnostic] = (),
    ) -> None:
        first = Diagnostic(rule, file, section, offset, symbol)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics) or (first,)
        self.warnings: tuple[Diagnostic, ...] = tuple(warnings)
        head = self.diagnostics[0]
        self.rule, self.file, self.section = head.rule, head.file, head.section
        self.offset, self.symbol = head.offset, head.symbol
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @classmethod
    def of(cls, diagnostics: Sequence[Diagnostic],
           warnings: Sequence[Diagnostic] = ()) -> LinkError:
        d = diagnostics[0]
        return cls(d.rule, file=d.file, section=d.section, offset=d.offset, symbol=d.symbol,
                   diagnostics=diagnostics, warnings=warnings)

    @property
    def diagnostic(self) -> Diagnostic:
        return self.diagnostics[0]


@dataclass
class Diagnostics:
    """What one link has reported so far.  `error()` records an error and raises once
    `error_limit` of them are collected (0: no limit); `check()` raises if any were."""

    error_limit: int = DEFAULT_ERROR_LIMIT
    fatal_warnings: bool = False
    announce_limit: bool = True  # say "too many errors" when the limit stops the link
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def error(self, d: Diagnostic | LinkError) -> None:
        self.errors.extend(d.diagnostics if isinstance(d, LinkError) else (d,))
        if self.error_limit and len(self.errors) >= self.error_limit:
            raise self._failure(limit_reached=True)

    def warn(self, d: Diagnostic) -> None:
        d = Diagnostic(d.rule, d.file, d.section, d.offset, d.symbol, "warning")
        if d not in self.warnings:
            self.warnings.append(d)

    @property
    def room(self) -> int:
        """How many more errors may be reported before the limit (a large number if none)."""
        return self.error_limit - len(self.errors) if self.error_limit else 1 << 30

    def check(self) -> None:
        if self.fatal_warnings and self.warnings:
            self.errors += [Diagnostic(f"{w.rule} (--fatal-warnings)", w.file, w.section,
                                       w.offset, w.symbol) for w in self.warnings]
            self.warnings = []
        if self.errors:
            raise self._failure(limit_reached=False)

    def _failure(self, *, limit_reached: bool) -> LinkError:
        errors = list(self.errors)
        if limit_reached and self.announce_limit:
            errors.append(Diagnostic("too many errors emitted, stopping now "
                                     "(use --error-limit=0 to see all errors)"))
        return LinkError.of(errors, self.warnings)


_CURRENT: contextvars.ContextVar[Diagnostics | None] = contextvars.ContextVar(
    "linkharness_diagnostics", default=None)


@contextmanager
def collecting(diagnostics: Diagnostics) -> Iterator[Diagnostics]:
    """Route `warn()` and `report()` of the code run inside to `diagnostics`."""
    token = _CURRENT.set(diagnostics)
    try:
        yield diagnostics
    finally:
        _CURRENT.reset(token)


def current() -> Diagnostics:
    """The link's collector; outside a link, a fresh one that raises at the first error."""
    return _CURRENT.get() or Diagnostics(error_limit=1, announce_limit=False)


def warn(rule: str, *, file: str | None = None, section: str | None = None,
         offset: int | None = None, symbol: str | None = None) -> None:
    current().warn(Diagnostic(rule, file, section, offset, symbol, "warning"))


def run_reporting_errors(action: Callable[[], None]) -> int:
    """Run a command-line action: each error of a LinkError is one `error:` line and exit 1;
    any other exception is a linker bug, reported in one line (the trace with
    LINKHARNESS_TRACEBACK=1)."""
    try:
        action()
    except LinkError as e:
        print_diagnostics(e.warnings)
        print_diagnostics(e.diagnostics)
        return 1
    except MemoryError:
        print("linkharness: error: out of memory", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 -- a linker bug: one line, the trace on request
        if os.environ.get("LINKHARNESS_TRACEBACK"):
            import traceback
            traceback.print_exc()
        print(f"linkharness: internal error: {type(e).__name__}: {e} "
              "(set LINKHARNESS_TRACEBACK=1 for the trace)", file=sys.stderr)
        return 1
    return 0


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        print(f"linkharness: {d.severity}: {d}", file=sys.stderr)
