"""The shape of a lazy PLT, shared by the per-arch templates.

A template is bytes plus a list of fields; the synthetic `.plt` section carries an ordinary
relocation per field (Go's linker's trick), so the one relocation pass patches PLT and GOT
along with user code and nothing here computes a displacement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PltField:
    """A 4-byte field inside a PLT template."""

    offset: int  # of the field within the entry
    target: str  # "got.plt" (+ addend) or "plt" (start of PLT0)
    addend: int  # added to the target's address (pc-relative fields include their -4)
    pc_relative: bool = True


@dataclass(frozen=True, slots=True)
class PltTemplate:
    plt0: bytes
    plt0_fields: tuple[PltField, ...]
    entry: bytes
    entry_fields: Callable[[int, int], tuple[PltField, ...]]  # (slot offset, entry offset)
    push_offset: int  # where an unbound slot points, within the entry
    push_imm_offset: int  # the 4-byte immediate of the push
    push_value: Callable[[int], int]  # relocation number -> what the push carries
