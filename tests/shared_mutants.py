"""Seeded linker bugs that more than one harness-power test registers (each under its own
name and family, judged on its own cases): one body each, here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from linker import kinds
from linker.elf import link as elf_link
from linker.kinds import Howto


def patch_howto_bounds(mp: pytest.MonkeyPatch,
                       bounds: Callable[[Howto], tuple[int, int]]) -> None:
    """`Howto.bounds` replaced for the mutant's life.  The lookup arrays derived from a
    howto table are remembered per process (`kinds.per_howto_table`), so the mutant also
    gets an empty memo of its own: the arrays made before it would hide it, and those
    made under it must not outlive it (undoing it restores the memo of the real bounds)."""
    mp.setattr(Howto, "bounds", bounds)
    mp.setattr(kinds, "_PER_TABLE", {})


def canonical_not_exported(mp: pytest.MonkeyPatch) -> None:
    """A canonical PLT entry is not the import's .dynsym value: .dynsym values are
    computed as if no import had a canonical PLT entry."""
    original = elf_link.dynsym_value

    def value(image_syms: Any, index_of: Any, canonical: Any, *rest: Any) -> Any:
        return original(image_syms, index_of, set(), *rest)
    mp.setattr(elf_link, "dynsym_value", value)
