"""IBT PLTs (x86-64 psABI and i386 psABI with Intel CET, "-z ibtplt"; GNU ld's lazy IBT PLT).

With indirect branch tracking every indirect jump or call must land on an `endbr`, and the
lazy PLT's `jmp *slot` lands, before binding, on the entry's own push.  The IBT form splits
each import in two entries of 16 bytes:

* `.plt` keeps PLT0 and, per import, a lazy entry `endbr; push n; jmp PLT0`; the import's
  `.got.plt` slot starts out pointing at the lazy entry's `endbr` (offset 0);
* `.plt.sec` holds the entries the code calls, and the symbol's canonical PLT address:
  `endbr; jmp *slot` (rip-relative on x86-64; absolute, or n(%ebx) in a PIE, on i386).

PLT0 is the ordinary one (GNU ld pads it with `nopl 0(%rax)` on both arches).
"""

from __future__ import annotations

from collections.abc import Callable

from ..records import dataclass
from . import i386, x86_64
from .plt import PltField, lazy_plt_bytes, pick_plt_form


@dataclass(frozen=True, slots=True)
class IbtPltTemplate:
    plt0: bytes
    plt0_fields: tuple[PltField, ...]
    lazy_entry: bytes  # in .plt: endbr; push n; jmp PLT0
    lazy_fields: tuple[PltField, ...]  # the jmp PLT0 (target "plt")
    push_imm_offset: int  # of the push's immediate within the lazy entry
    push_value: Callable[[int], int]  # relocation number -> what the push carries
    sec_entry: bytes  # in .plt.sec: endbr; jmp *slot
    sec_fields: Callable[[int], tuple[PltField, ...]]  # slot offset in .got.plt -> fields


ENTRY_SIZE = 16

# -- x86-64 --------------------------------------------------------------------------------
X86_64_PLT0 = bytes.fromhex(
    "ff3500000000"  # push  GOT+8(%rip)          ; GOT[1]: link map
    "ff2500000000"  # jmp   *GOT+16(%rip)        ; GOT[2]: resolver
    "0f1f4000"      # nopl  0(%rax)              ; pad to 16
)
X86_64_LAZY = bytes.fromhex(
    "f30f1efa"      # endbr64                    ; the unbound slot lands here
    "6800000000"    # push  $n                   ; relocation index in .rela.plt
    "e900000000"    # jmp   PLT0
    "6690"          # xchg  %ax,%ax              ; pad to 16
)
X86_64_SEC = bytes.fromhex(
    "f30f1efa"      # endbr64                    ; callers (and function pointers) land here
    "ff2500000000"  # jmp   *slot(%rip)
    "660f1f440000"  # nopw  0(%rax,%rax,1)       ; pad to 16
)
X86_64 = IbtPltTemplate(
    plt0=X86_64_PLT0, plt0_fields=x86_64.PLT0_FIELDS,
    lazy_entry=X86_64_LAZY, lazy_fields=(PltField(offset=10, target="plt", addend=-4),),
    push_imm_offset=5, push_value=lambda n: n,
    sec_entry=X86_64_SEC,
    sec_fields=lambda slot: (PltField(offset=6, target="got.plt", addend=slot - 4),),
)

# -- i386 ----------------------------------------------------------------------------------
I386_PLT0 = bytes.fromhex(
    "ff3500000000"  # push  GOT+4                ; GOT[1]: link map
    "ff2500000000"  # jmp   *GOT+8               ; GOT[2]: resolver
    "0f1f4000"      # nopl  0(%eax)              ; pad to 16
)
I386_PIC_PLT0 = bytes.fromhex(
    "ffb304000000"  # push  4(%ebx)              ; GOT[1]: link map
    "ffa308000000"  # jmp   *8(%ebx)             ; GOT[2]: resolver
    "0f1f4000"      # nopl  0(%eax)              ; pad to 16
)
I386_LAZY = bytes.fromhex(
    "f30f1efb"      # endbr32                    ; the unbound slot lands here
    "6800000000"    # push  $8n                  ; byte offset in .rel.plt
    "e900000000"    # jmp   PLT0
    "6690"          # xchg  %ax,%ax              ; pad to 16
)
I386_SEC = bytes.fromhex(
    "f30f1efb"      # endbr32                    ; callers land here
    "ff2500000000"  # jmp   *slot                ; (PIE: ff a3 = jmp *slot-GOT(%ebx))
    "660f1f440000"  # nopw  0(%eax,%eax,1)       ; pad to 16
)
I386_PIC_SEC = I386_SEC[:4] + bytes.fromhex("ffa3") + I386_SEC[6:]
_I386_LAZY_FIELDS = (PltField(offset=10, target="plt", addend=-4),)
I386 = IbtPltTemplate(
    plt0=I386_PLT0, plt0_fields=i386.PLT0_FIELDS,
    lazy_entry=I386_LAZY, lazy_fields=_I386_LAZY_FIELDS,
    push_imm_offset=5, push_value=lambda n: n * i386.REL_SIZE,
    sec_entry=I386_SEC,
    sec_fields=lambda slot: (PltField(offset=6, target="got.plt", addend=slot,
                                      pc_relative=False),),
)
I386_PIC = IbtPltTemplate(
    plt0=I386_PIC_PLT0, plt0_fields=(),
    lazy_entry=I386_LAZY, lazy_fields=_I386_LAZY_FIELDS,
    push_imm_offset=5, push_value=lambda n: n * i386.REL_SIZE,
    sec_entry=I386_PIC_SEC,
    sec_fields=lambda slot: (PltField(offset=6, target="got.plt", addend=slot,
                                      pc_relative=False, got_relative=True),),
)

IBT_PLT_TEMPLATES: dict[str, IbtPltTemplate] = {"x86_64": X86_64, "i386": I386}
IBT_PIC_PLT_TEMPLATES: dict[str, IbtPltTemplate] = {"i386": I386_PIC}


def ibt_template(arch: str, pic: bool) -> IbtPltTemplate:
    return pick_plt_form(IBT_PLT_TEMPLATES, IBT_PIC_PLT_TEMPLATES, arch, pic)


def lazy_bytes(template: IbtPltTemplate, count: int) -> bytes:
    """.plt: PLT0 then one lazy entry per import, each pushing its relocation number."""
    return lazy_plt_bytes(template.plt0, template.lazy_entry, template.push_imm_offset,
                          template.push_value, count)
