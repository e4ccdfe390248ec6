"""What a run returns: exit status, output, the library-call trace and the faults.

Frozen records with `to_json()` so the CLI, the corpus and the fuzzers can store them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TraceEntry:
    """One call into an emulated library: which library, which symbol, its integer arguments
    (unsigned machine words; only the fixed arguments of variadic functions)."""

    library: str
    symbol: str
    args: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"library": self.library, "symbol": self.symbol, "args": list(self.args)}


@dataclass(frozen=True)
class Fault:
    """Something the program did that a correct program and a correct link never do.

    kind is one of:
      unmapped-fetch, unmapped-read, unmapped-write, write-protected, read-protected,
      fetch-protected   the CPU touched memory it may not (address: the instruction, or the
                        fetched address; the message names the data address);
      invalid-instruction, cpu   an undefined opcode, an exception, a hlt;
      budget, timeout   the instruction budget or the wall-time limit ran out;
      bad-resolver      the lazy resolver was entered with a wrong link map or relocation;
      unimplemented     a call to an import no emulated library implements;
      unresolved, bad-relocation, load   the program could not be loaded and linked;
      library           a library function was handed bad pointers (or failed);
      unsupported       what the emulator will not do: a relocation type it lacks, code
                        Unicorn would crash translating (translation_guard.py);
      abort, signal     abort() or a raised signal with its default action (these come with
                        an exit code: 134, 128 + signal).
    """

    kind: str
    address: int
    symbol: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "address": self.address,
            "symbol": self.symbol,
            "message": self.message,
        }

    def describe(self) -> str:
        """One line naming the kind, the address and the nearest symbol."""
        where = f"{self.address:#x}" + (f" <{self.symbol}>" if self.symbol else "")
        return f"fault: {self.kind} at {where}: {self.message}"


@dataclass(frozen=True)
class RunResult:
    """The outcome of one emulated run.  exit_code is None when the run ended in a fault
    before the program exited.  instructions: executed instructions when the run had an
    instruction budget (exact when it exited or ran out of budget; through the last
    completed slice when it faulted), None otherwise: counting is what costs speed."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    trace: list[TraceEntry] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    instructions: int | None = None  # counted only in runs with an instruction budget
    seed: int | None = None  # drew the load bases (run(..., seed=) repeats the run exactly)

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "stdout": self.stdout.decode("utf-8", "backslashreplace"),
            "stderr": self.stderr.decode("utf-8", "backslashreplace"),
            "trace": [t.to_json() for t in self.trace],
            "faults": [f.to_json() for f in self.faults],
            "instructions": self.instructions,
            "seed": self.seed,
        }
