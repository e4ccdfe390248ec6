"""A one-line progress bar on stderr, redrawn in place; silent when stderr is not a terminal
(so logs and `git bisect run` output stay readable)."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled

    def advance(self, label: str, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        if self.enabled:
            self.stream.write("\r" + self.line(label))
            self.stream.flush()

    def line(self, label: str) -> str:
        filled = WIDTH * self.done // self.total if self.total else WIDTH
        bar = "#" * filled + "." * (WIDTH - filled)
        fails = f" {self.failed} failed" if self.failed else ""
        return f"[{bar}] {self.done}/{self.total}{fails} {label[:40]:<40}"

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (WIDTH + 60) + "\r")
            self.stream.flush()
