"""GOT and PLT rules: GOT[0] holds _DYNAMIC, every JUMP_SLOT has exactly one PLT entry
jumping through it, and (unless binding is immediate) the lazy path from that entry
reaches the resolver through GOT[2] with GOT[1] and the slot's relocation pushed."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.pltwalk import indirect_jumps, run_lazy_path
from oracle.check.registry import (
    DL_LOOKUP,
    DL_RELOC,
    DL_RUNTIME,
    PSABI_I386,
    PSABI_X86_64,
    Finding,
    rule,
)
from oracle.check.relocations import dynamic_relocs, jump_slots
from oracle.check.rules.segments import relro_pages
from oracle.check.tables import bind_now, dyn_value, dynsym

TOPIC = "got/plt"
BOTH = f"{PSABI_X86_64}, {PSABI_I386}"
STT_NOTYPE, STT_FUNC = 0, 2


def _dynamic_address(img: ElfImage) -> int | None:
    seg = next((s for s in img.segments if s.type == c.PT_DYNAMIC), None)
    return None if seg is None else seg.vaddr


def _lazy_slots(img: ElfImage) -> list[tuple[int, int]]:
    """(index in DT_JMPREL, slot address) of the JUMP_SLOT relocations."""
    slot_type = c.R_X86_64_JUMP_SLOT if img.is64 else c.R_386_JMP_SLOT
    return [(dr.reloc.index, dr.reloc.offset) for dr in jump_slots(img)
            if dr.reloc.type == slot_type]


@rule("ELF-GOT0", TOPIC, "GOT[0], the word at DT_PLTGOT, holds the address of _DYNAMIC", BOTH)
def got0(img: ElfImage) -> Iterator[Finding]:
    pltgot, dyn = dyn_value(img, c.DT_PLTGOT), _dynamic_address(img)
    if pltgot is None or dyn is None:
        return
    value = img.word_at(pltgot)
    if value != dyn:
        shown = "unmapped" if value is None else f"{value:#x}"
        yield img.where(pltgot), f"GOT[0] is {shown}, expected _DYNAMIC {dyn:#x}"


@rule("ELF-PLT-SLOT", TOPIC,
      "each JUMP_SLOT slot is jumped through by exactly one PLT entry (found by decoding)",
      BOTH)
def slot_refs(img: ElfImage) -> Iterator[Finding]:
    slots = _lazy_slots(img)
    if not slots:
        return
    refs: dict[int, list[int]] = {}
    for ref in indirect_jumps(img):
        refs.setdefault(ref.target, []).append(ref.address)
    for index, slot in slots:
        users = refs.get(slot, [])
        if len(users) != 1:
            shown = ", ".join(img.where(a) for a in users[:3]) or "none"
            yield img.where(slot), (f"JUMP_SLOT #{index} is jumped through by {len(users)} "
                                   f"PLT entries ({shown}), expected 1")


@rule("ELF-PLT-LAZY", TOPIC,
      "without BIND_NOW, running a slot's PLT entry with the slot's initial contents reaches "
      "jmp *GOT[2] having pushed exactly the relocation (x86-64: index, i386: byte offset in "
      ".rel.plt) and then GOT[1]", f"{BOTH}, {DL_RUNTIME}")
def lazy(img: ElfImage) -> Iterator[Finding]:
    pltgot = dyn_value(img, c.DT_PLTGOT)
    slots = _lazy_slots(img)
    if pltgot is None or not slots or bind_now(img):
        return
    entries: dict[int, list[int]] = {}
    for ref in indirect_jumps(img):
        entries.setdefault(ref.target, []).append(ref.entry)
    rel_size = (24 if img.is64 else 12) if dyn_value(img, c.DT_PLTREL) == c.DT_RELA \
        else (16 if img.is64 else 8)
    w = img.word
    for index, slot in slots:
        starts = entries.get(slot)
        if not starts:
            continue  # ELF-PLT-SLOT reports it
        want_arg = index if img.is64 else index * rel_size
        want = (("imm", want_arg), ("mem", pltgot + w))
        path = run_lazy_path(img, starts[0], slot, pltgot + 2 * w)
        if path.failure is not None:
            yield img.where(slot), f"lazy path of JUMP_SLOT #{index} {path.failure}"
        elif path.pushed != want:
            yield img.where(slot), (f"lazy path of JUMP_SLOT #{index} pushes "
                                   f"{_show(img, path.pushed)}, expected {_show(img, want)}")


def _show(img: ElfImage, pushed: tuple[tuple[str, int], ...] | None) -> str:
    parts = [f"${v:#x}" if kind == "imm" else f"[{img.where(v)}]" for kind, v in pushed or ()]
    return "[" + ", ".join(parts) + "]"


@rule("ELF-GOT-RELRO", TOPIC,
      "without BIND_NOW no JUMP_SLOT slot lies in the pages PT_GNU_RELRO makes read-only: "
      "lazy binding writes them while the program runs", f"{DL_RUNTIME}, {DL_RELOC}")
def lazy_slots_writable(img: ElfImage) -> Iterator[Finding]:
    pages = relro_pages(img)
    if pages is None or bind_now(img):
        return
    start, end = pages
    for index, slot in _lazy_slots(img):
        if start <= slot < end:
            yield img.where(slot), (f"JUMP_SLOT #{index} is in read-only-after-relocation page "
                                   f"{slot & ~0xFFF:#x}")


@rule("ELF-PLT-CANONICAL", TOPIC,
      "an undefined function symbol with a non-zero st_value (the executable's canonical "
      "address for it) points at PLT code that jumps through a slot relocated against that "
      "same symbol", f"{BOTH}, {DL_LOOKUP}")
def canonical(img: ElfImage) -> Iterator[Finding]:
    syms = dynsym(img)
    candidates = [s for s in syms[1:] if s.shndx == c.SHN_UNDEF and s.value
                  and s.type in (STT_NOTYPE, STT_FUNC)]
    if not candidates:
        return
    slot_syms: dict[int, set[int]] = {}
    for dr in dynamic_relocs(img):
        slot_syms.setdefault(dr.reloc.offset, set()).add(dr.reloc.sym)
    refs = indirect_jumps(img)
    for sym in candidates:
        where = f".dynsym[{sym.index}] {sym.name}"
        ref = next((r for r in refs if r.entry <= sym.value <= r.address), None)
        if ref is None:
            yield where, (f"canonical address {sym.value:#x} ({img.where(sym.value)}) is not "
                         "a PLT entry")
        elif sym.index not in slot_syms.get(ref.target, set()):
            yield where, (f"canonical address {sym.value:#x} is a PLT entry jumping through "
                         f"{img.where(ref.target)}, not relocated against {sym.name!r}")
