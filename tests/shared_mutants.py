"""Seeded linker bugs that more than one harness-power test registers (each under its own
name and family, judged on its own cases): one body each, here."""

from __future__ import annotations

from typing import Any

import pytest

from linker.elf import link as elf_link


def canonical_not_exported(mp: pytest.MonkeyPatch) -> None:
    """A canonical PLT entry is not the import's .dynsym value: .dynsym values are
    computed as if no import had a canonical PLT entry."""
    original = elf_link.dynsym_value

    def value(image_syms: Any, index_of: Any, canonical: Any, *rest: Any) -> Any:
        return original(image_syms, index_of, set(), *rest)
    mp.setattr(elf_link, "dynsym_value", value)
