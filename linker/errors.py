"""LinkError: the one exception bad input or an impossible link raises.

A message is one line naming where the problem is (file, section, offset, symbol, as far as
they are known) and the rule that was broken, e.g.

    main.o: section .text+0x1c: symbol printf: R_X86_64_32 value 0x1_0000_0000 overflows ...
"""

from __future__ import annotations


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
        return ": ".join([*where, self.rule])
