"""linkharness's linker: x86 and x86-64 ELF and Mach-O objects in, executables out.

The public surface is `link()` (Python API), `main()` (the `linkharness link` command line)
and `LinkError`.  Everything else in this package is internal to the linker; the oracle
and the fuzzers use only these names.

The names are imported on first use (PEP 562): `python -m linker --version`, or a command
line that fails to parse, never pays for numpy and the link pipeline.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import LinkResult, link
    from .cli import main, shim_dir
    from .errors import Diagnostic, LinkError

__all__ = ["Diagnostic", "LinkError", "LinkResult", "link", "main", "shim_dir"]

_HOME = {"Diagnostic": "errors", "LinkError": "errors", "LinkResult": "api", "link": "api",
         "main": "cli", "shim_dir": "cli"}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'linker' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
