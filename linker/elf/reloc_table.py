"""The shape of a native relocation table: native type number -> Howto, or a refusal.

Each arch module (relocs_x86_64, relocs_i386) fills one `NativeRelocs` from a literal
table; this is the only place native R_* numbers live.  The reader indexes `howtos` by the
native type directly (the tuple is dense), so a relocation row stores its own r_type.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

from ..kinds import Howto, Overflow, RelocKind
from ..records import dataclass
from ..targets import ElfLayout

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


_NUMPY_FIELD = {"I": "<u4", "i": "<i4", "Q": "<u8", "q": "<i8"}


def pack_relocations(rows: np.ndarray, rela: bool, layout: ElfLayout) -> bytes:
    """Elf_Rel or Elf_Rela entries of the class from rows with offset, symbol, type (and
    addend): r_info packed as ELF64_R_INFO / ELF32_R_INFO pack it, the offset a word."""
    fmt = layout.rela_format if rela else layout.rel_format
    table = np.zeros(len(rows), dtype=[(name, _NUMPY_FIELD[code]) for name, code
                                       in zip(("offset", "info", "addend"), fmt[1:])])
    table["info"] = (rows["symbol"].astype(np.uint64) << np.uint64(layout.info_shift)) \
        | rows["type"].astype(np.uint64)
    word_mask = np.uint64((1 << 8 * struct.calcsize(layout.word_format)) - 1)
    table["offset"] = rows["offset"].astype(np.int64).view(np.uint64) & word_mask
    if rela:
        table["addend"] = rows["addend"]
    return table.tobytes()
