"""`oracle.check(path)` is the documented call; it must keep working after anything has
imported the `oracle.check` submodule (which rebinds the package attribute to the module)."""

from __future__ import annotations

import importlib
from pathlib import Path

import oracle


def test_oracle_check_is_callable_after_the_submodule_is_imported(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF" + b"\0" * 60)
    first = oracle.check(str(junk))
    importlib.import_module("oracle.check.rules")
    again = oracle.check(str(junk))
    assert first == again and first, "a truncated ELF header must give violations"
