"""LinkError: the one exception bad input or an impossible link raises.

A message is one line naming where the problem is (file, section, offset, symbol, as far as
they are known) and the rule that was broken, e.g.

    main.o: section .text+0x1c: symbol printf: R_X86_64_32 value 0x1_0000_0000 overflows ...
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

_ESCAPE_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(32), 127]}


class LinkError(Exception):
    """A link that cannot be done; `str()` is the one-line message the CLI prints."""

    def __init__(
        self,
        rule: str,
        *,
        file: str | None = None,
        section: str | None = None,
        offset: int | None = None,
        symbol: str | None = None,
    ) -> None:
        self.rule = rule
        self.file = file
        self.section = section
        self.offset = offset
        self.symbol = symbol
        super().__init__(self._format())

    def _format(self) -> str:
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


def run_reporting_errors(action: Callable[[], None]) -> int:
    """Run a command-line action: a LinkError is one `error:` line and exit 1; any other
    exception is a linker bug, reported in one line (the trace with LINKHARNESS_TRACEBACK=1)."""
    try:
        action()
    except LinkError as e:
        print(f"linkharness: error: {e}", file=sys.stderr)
        return 1
    except MemoryError:
        print("linkharness: error: out of memory", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 -- a linker bug: one line, the trace on request
        if os.environ.get("LINKHARNESS_TRACEBACK"):
            traceback.print_exc()
        print(f"linkharness: internal error: {type(e).__name__}: {e} "
              "(set LINKHARNESS_TRACEBACK=1 for the trace)", file=sys.stderr)
        return 1
    return 0
