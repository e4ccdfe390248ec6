"""The shape of a lazy PLT, shared by the per-arch templates.

A template is bytes plus a list of fields; the synthetic `.plt` section carries an ordinary
relocation per field (Go's linker's trick), so the one relocation pass patches PLT and GOT
along with user code and nothing here computes a displacement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from ..records import dataclass

Template = TypeVar("Template")


@dataclass(frozen=True, slots=True)
class PltField:
    """A 4-byte field inside a PLT template."""

    offset: int  # of the field within the entry
    target: str  # "got.plt" (+ addend) or "plt" (start of PLT0)
    addend: int  # added to the target's address (pc-relative fields include their -4)
    pc_relative: bool = True
    # The field holds target + addend - GOT (the GOT base, .got.plt's start): i386 PIC PLT
    # entries address their slot as n(%ebx).
    got_relative: bool = False


@dataclass(frozen=True, slots=True)
class PltTemplate:
    plt0: bytes
    plt0_fields: tuple[PltField, ...]
    entry: bytes
    entry_fields: Callable[[int, int], tuple[PltField, ...]]  # (slot offset, entry offset)
    push_offset: int  # where an unbound slot points, within the entry
    push_imm_offset: int  # the 4-byte immediate of the push
    push_value: Callable[[int], int]  # relocation number -> what the push carries


@dataclass(frozen=True, slots=True)
class MachoStubTemplate:
    """A Mach-O arch's stubs and lazy-binding helper, as bytes plus fields.

    Field targets: "slot" (the stub's pointer: + its offset in the pointer section),
    "dyld_private" (the image's cache word), "binder" (the pointer to dyld_stub_binder),
    "header" (the start of the helper).  Each field is 4 bytes, pc-relative or absolute.
    """

    stub: bytes  # one stub: jmp *slot
    stub_field: PltField
    helper_header: bytes  # shared: pass dyld_private to dyld_stub_binder and jump there
    header_fields: tuple[PltField, ...]
    helper_entry: bytes  # per import: push its lazy-bind offset, jmp header
    entry_push_imm: int  # the push's immediate (patched after layout)
    entry_fields: tuple[PltField, ...]


def pick_plt_form(plain: Mapping[str, Template], pic_forms: Mapping[str, Template], arch: str,
                  pic: bool) -> Template:
    """The arch's PIC PLT form where the output needs one and the arch has one (i386's
    entries read %ebx), else its plain form: a PIE's PLT must not hold addresses."""
    return pic_forms.get(arch, plain[arch]) if pic else plain[arch]


def lazy_plt_bytes(plt0: bytes, entry: bytes, push_imm_offset: int,
                   push_value: Callable[[int], int], count: int) -> bytes:
    """PLT0 then one lazy entry per import, each pushing what its relocation number maps
    to (the fields are left zero: relocations fill them)."""
    out = bytearray(plt0)
    for n in range(count):
        lazy = bytearray(entry)
        lazy[push_imm_offset:push_imm_offset + 4] = push_value(n).to_bytes(4, "little")
        out += lazy
    return bytes(out)
