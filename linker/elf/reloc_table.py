"""The shape of a native relocation table: native type number -> Howto, or a refusal.

Each arch module (relocs_x86_64, relocs_i386) fills one `NativeRelocs` from a literal
table; this is the only place native R_* numbers live.  The reader indexes `howtos` by the
native type directly (the tuple is dense), so a relocation row stores its own r_type.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..kinds import Howto, Overflow, RelocKind
from ..records import dataclass

_PLACEHOLDER = Howto("(unsupported)", RelocKind.NONE, 0, Overflow.NONE)


@dataclass(frozen=True, slots=True)
class NativeRelocs:
    arch: str
    # dense: index = native type; unsupported types hold a placeholder.  Past the native
    # range come the alternative forms of `Howto.no_base` and `Howto.direct`, which scan.py switches a row to;
    # `supported` stops at the native range, so no file can name one directly.
    howtos: tuple[Howto, ...]
    supported: np.ndarray  # bool per native type
    refusals: Mapping[int, str]  # native type -> why it is refused (TLS, dynamic-only, ...)
    names: Mapping[int, str]  # every known native type -> its name

    def refusal(self, r_type: int) -> str:
        name = self.names.get(r_type)
        if name is None:
            return f"unknown relocation type {r_type} for {self.arch}"
        return f"{name}: {self.refusals.get(r_type, 'relocation type not supported')}"


def build_table(
    arch: str, supported: Mapping[int, Howto], refused: Mapping[int, tuple[str, str]]
) -> NativeRelocs:
    """`supported`: type -> Howto; `refused`: type -> (name, reason)."""
    size = max([*supported, *refused]) + 1
    howtos = [_PLACEHOLDER] * size
    mask = np.zeros(size, dtype=bool)
    for number, howto in supported.items():
        howtos[number] = howto
        mask[number] = True
    howtos += [h.no_base for h in supported.values() if h.no_base is not None]
    howtos += [h.direct for h in supported.values() if h.direct is not None]
    howtos += [h.branch for h in supported.values() if h.branch is not None]
    names = {n: h.name for n, h in supported.items()}
    names.update({n: name for n, (name, _) in refused.items()})
    return NativeRelocs(arch, tuple(howtos), mask, {n: why for n, (_, why) in refused.items()},
                        names)
