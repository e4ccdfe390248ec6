"""linkharness's oracle: judges linked programs by structure and by behaviour.

It never imports linker internals: it parses with pyelftools and macholib, decodes with
capstone and runs with Unicorn, so it judges any linker's output on equal terms.

Public names (imported on first use, so that `oracle.check` does not pay for Unicorn):
    check, Violation               structural checker         (oracle.check)
    run, RunResult, TraceEntry, Fault   emulated ld.so and dyld   (oracle.emulate)
    check_fields, FieldMismatch         relocation-field oracle   (oracle.relocs)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "check": "oracle.check",
    "Violation": "oracle.check",
    "run": "oracle.emulate",
    "RunResult": "oracle.emulate",
    "TraceEntry": "oracle.emulate",
    "Fault": "oracle.emulate",
    "check_fields": "oracle.relocs",
    "FieldMismatch": "oracle.relocs",
}

__all__ = [
    "Fault",
    "FieldMismatch",
    "RunResult",
    "TraceEntry",
    "Violation",
    "check",
    "check_fields",
    "run",
]
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'oracle' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
