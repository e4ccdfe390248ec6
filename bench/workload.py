"""What a link benchmark runs: the inputs, the arguments every linker gets, what must run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workload:
    """One link, given to every linker with the same arguments in the same directory.

    `args` are GNU ld arguments without `-o`; input paths in them are relative to
    `directory`, which keeps the command line short with thousands of objects.
    """

    name: str
    description: str
    directory: Path
    args: tuple[str, ...]
    expected_status: int  # the exit status of a correctly linked output run natively
    objects: int  # input objects named on the command line (archive members not counted)
    relocs: int  # relocations in those objects, as the generator counted them
