"""Our Mach-O i386 assembler pass: lays out an `AsmObject` lowered by
fuzz.macho.lower_i386 in the object's own address space and turns every reference into a
GENERIC relocation entry (fuzz.macho.emit_macho_i386 writes them).

What a field holds (the facts, checked against llvm-mc-14 by
tests/fuzz/macho/test_emit_macho_i386.py): every addend lives in the field, in the object's
address space.  Absolute VANILLA: target + addend for a non-extern or scattered entry, the
bare addend for an extern one.  Pc-relative VANILLA: target + addend - (P + width), the
target being 0 for an extern entry (`calll _f` at P holds -(P + 4)).  SECTDIFF /
LOCAL_SECTDIFF + PAIR: minuend + addend - subtrahend, r_value the minuend's address (the
symbol's, not symbol + addend) and the PAIR's r_value the subtrahend's.

Choices a real assembler makes one way or another are drawn per reference (`Choices32`), so
the linker sees every form: a reference to a non-weak definition of this object is extern,
plain non-extern (against the section) or scattered (r_value); a call inside one section may
be resolved here with no entry (llvm-mc's way); a pc-relative datum relative to its own item
(`SelfRel`) is resolved here, a pc-relative non-extern VANILLA of its width, or a difference
pair (the item minus the field).  Weak definitions, imports, COMMONs and absolute symbols are
always extern (a weak definition may lose to another object's).  References through a
non-lazy pointer get a slot in `__IMPORT,__pointers`, named by the indirect symbol table;
calls the choices send through a jump table reach a 5-byte `__IMPORT,__jump_table` entry
(S_SYMBOL_STUBS, `hlt` bytes, named by the indirect table), as old assemblers wrote them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import libtrace
from ..lower_x86 import AsmObject, AsmSection
from ..model import Binding, Const, SectionKind, SelfRel
from .assemble import WEAK_REF_PREFIX, cname, section_names
from .emit_macho import MachoSymbol
from .emit_macho_i386 import GenericReloc, MachoImage32, Section32
from .encode_i386 import encode

PACK = {1: "<B", 2: "<H", 4: "<I"}
POINTERS = ("__IMPORT", "__pointers")
JUMP_TABLE = ("__IMPORT", "__jump_table")
JUMP_ENTRY = b"\xf4" * 5  # hlt x5: an old assembler's jump-table entry, rewritten by dyld
SLOT = 4
NOP = b"\x90"  # code is padded with nops, as assemblers do
# the form of a reference to a non-weak definition of this object, of a SelfRel datum
REF_FORMS = ("extern", "plain", "scattered")
CALL_FORMS = ("extern", "plain", "resolved")
SELF_FORMS = ("resolved", "pcrel", "difference")


@dataclass(frozen=True)
class Choices32:
    """Per-object drawn decisions.  `form(kind, key)` picks an index into REF_FORMS
    (kind "ref"), CALL_FORMS ("call") or SELF_FORMS ("self") for a reference at `key`."""

    form: Callable[[str, str], int]
    private_extern: Callable[[str], bool]
    weak_ref: Callable[[str], bool]
    # calls to this symbol (not defined here) go through a `__jump_table` entry, as old
    # assemblers (Apple gcc -mdynamic-no-pic) made them
    jump_table: Callable[[str], bool] = lambda name: False


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _zerofill(laid: _Laid) -> bool:
    return laid.sec is not None and laid.sec.kind is SectionKind.BSS


def _address_order(laids: list[_Laid]) -> list[_Laid]:
    return [la for la in laids if not _zerofill(la)] + [la for la in laids if _zerofill(la)]


@dataclass
class _Pending:
    offset: int
    kind: str  # a fixup kind of encode_i386, or "DATA" / "SELF" for a data field
    name: str
    addend: int
    width: int = 4
    pic_base: int = 0  # section offset of the function's pic base
    item: str = ""


@dataclass
class _Laid:
    segment: str
    name: str
    sec: AsmSection | None
    data: bytearray
    align: int
    addr: int = 0
    pending: list[_Pending] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.segment},{self.name}"


def _lay(sec: AsmSection, segment: str, name: str) -> tuple[_Laid, list[tuple[str, int]]]:
    """Bytes, pending references and item offsets of one section."""
    laid = _Laid(segment, name, sec, bytearray(), sec.align)
    items: list[tuple[str, int]] = []
    for item in sec.items:
        laid.align = max(laid.align, item.align)
        start = _align(len(laid.data), item.align)
        laid.data += (NOP if sec.kind is SectionKind.TEXT else b"\0") * (start - len(laid.data))
        items.append((item.name, start))
        pic_base = 0
        for insn in item.code:
            if insn.op == "pic_base":
                pic_base = len(laid.data) + 5
            code, fixups = encode(insn)
            laid.pending += [_Pending(len(laid.data) + f.offset, f.kind, f.name, f.addend,
                                      pic_base=pic_base) for f in fixups]
            laid.data += code
        for f in item.fields:
            at = len(laid.data)
            if isinstance(f, Const):
                laid.data += struct.pack(PACK[f.width], f.value & ((1 << (8 * f.width)) - 1))
                continue
            if isinstance(f, SelfRel):
                laid.pending.append(_Pending(at, "SELF", item.name, f.addend, f.width,
                                             item=item.name))
            else:
                laid.pending.append(_Pending(at, "DATA", f.target, f.addend, f.width,
                                             item=item.name))
            laid.data += bytes(f.width)
    return laid, items


def _indirect_section(laids: list[_Laid], kind: str, wanted: Callable[[str], bool]
                      ) -> _Laid | None:
    """The object's non-lazy pointer section (one slot per name reached by an NLP fixup)
    or jump table (one entry per name `wanted` for its BRANCH fixups)."""
    names: list[str] = []
    for laid in laids:
        names += [p.name for p in laid.pending
                  if p.kind == kind and wanted(p.name) and p.name not in names]
    if not names:
        return None
    if kind == "NLP":
        laid = _Laid(*POINTERS, None, bytearray(SLOT * len(names)), SLOT)
        laid.pending = [_Pending(SLOT * k, "SLOT", n, 0) for k, n in enumerate(names)]
    else:
        laid = _Laid(*JUMP_TABLE, None, bytearray(JUMP_ENTRY * len(names)), 1)
        laid.pending = [_Pending(len(JUMP_ENTRY) * k, "STUB", n, 0) for k, n in enumerate(names)]
    return laid


class _Object:
    """The laid-out object: addresses and the facts the relocation choices need."""

    def __init__(self, obj: AsmObject, jump_table: Callable[[str], bool]) -> None:
        self.laids: list[_Laid] = []
        self.where: dict[str, tuple[_Laid, int]] = {}
        self.binding: dict[str, Binding] = {}
        placed = dict(zip((id(s) for s in obj.sections), section_names(obj.sections)))
        for sec in obj.sections:  # ordinals in the order of the text, as llvm-mc numbers
            laid, items = _lay(sec, *placed[id(sec)])
            self.laids.append(laid)
            for item_name, off in items:
                self.where[item_name] = (laid, off)
            for item in sec.items:
                self.binding[item.name] = item.binding
        # made after the text's sections: the last ordinals
        self.slots: dict[str, tuple[_Laid, int]] = {}
        self.stubs: dict[str, tuple[_Laid, int]] = {}
        for kind, table, wanted in (
                ("NLP", self.slots, lambda name: True),
                ("BRANCH", self.stubs, lambda name: name not in self.where and jump_table(name))):
            section = _indirect_section(self.laids, kind, wanted)
            if section is not None:
                self.laids.append(section)
                table.update((p.name, (section, p.offset)) for p in section.pending)
        addr = 0
        for laid in _address_order(self.laids):  # zero-fill sections at the end
            laid.addr = addr = _align(addr, laid.align)
            addr += len(laid.data)

    def address(self, name: str) -> int:
        laid, off = self.where[name]
        return laid.addr + off

    def own_strong(self, name: str) -> bool:
        """A definition of this object that cannot lose to another object's."""
        return name in self.where and self.binding[name] is not Binding.WEAK

    def external(self, name: str) -> bool:
        return self.binding.get(name, Binding.GLOBAL) is not Binding.LOCAL


def _relocate(o: _Object, laid: _Laid, p: _Pending, choices: Choices32,
              referenced: set[str]) -> GenericReloc | None:
    """The entry for one pending reference, writing its field into `laid.data`."""
    at = laid.addr + p.offset
    key = f"{laid.key}+{p.offset:#x}"
    field_value: int
    reloc: GenericReloc | None
    if p.kind == "BRANCH" and p.name in o.stubs:  # to the jump-table entry, non-extern
        stub, offset = o.stubs[p.name]
        field_value = stub.addr + offset - (at + 4)
        reloc = GenericReloc(p.offset, "VANILLA", 4, True, section=stub.key)
    elif p.kind == "STUB":  # the indirect symbol table names the entry: no relocation
        referenced.add(p.name)
        return None
    elif p.kind == "BRANCH":
        form = CALL_FORMS[choices.form("call", key)] if o.own_strong(p.name) else "extern"
        if form == "resolved" and o.where[p.name][0] is not laid:
            form = "plain"
        if form == "extern":
            referenced.add(p.name)
            field_value = p.addend - (at + 4)
            reloc = GenericReloc(p.offset, "VANILLA", 4, True, symbol=cname(p.name))
        else:
            field_value = o.address(p.name) + p.addend - (at + 4)
            reloc = None if form == "resolved" else GenericReloc(
                p.offset, "VANILLA", 4, True, section=o.where[p.name][0].key)
    elif p.kind in ("ABS", "DATA", "SLOT"):
        form = REF_FORMS[choices.form("ref", key)] if o.own_strong(p.name) else "extern"
        if form == "extern":
            referenced.add(p.name)
            field_value = p.addend
            reloc = GenericReloc(p.offset, "VANILLA", p.width, symbol=cname(p.name))
        elif form == "plain":
            field_value = o.address(p.name) + p.addend
            reloc = GenericReloc(p.offset, "VANILLA", p.width, section=o.where[p.name][0].key)
        else:
            field_value = o.address(p.name) + p.addend
            reloc = GenericReloc(p.offset, "VANILLA", p.width, value=o.address(p.name))
        if p.kind == "SLOT":  # the indirect symbol table names the slot: no entry, zero
            referenced.add(p.name)
            field_value, reloc = 0, None
    elif p.kind in ("PICREL", "NLP"):
        base = laid.addr + p.pic_base
        if p.kind == "NLP":
            slots, offset = o.slots[p.name]
            minuend, kind = slots.addr + offset, "LOCAL_SECTDIFF"
        else:
            minuend = o.address(p.name)
            kind = "SECTDIFF" if o.external(p.name) else "LOCAL_SECTDIFF"
        field_value = minuend + p.addend - base
        reloc = GenericReloc(p.offset, kind, 4, value=minuend, pair=base)
    else:
        assert p.kind == "SELF"
        item = o.address(p.item)
        field_value = item + p.addend - at
        form = SELF_FORMS[choices.form("self", key)]
        inside = 0 <= item + p.addend + p.width - laid.addr < len(laid.data)
        if form == "pcrel" and p.width == 4 and (
                not inside or choices.form("ref", key + "/self") == 0):
            # extern (only 4 bytes wide: the field holds the addend minus P, any size)
            field_value -= item
            referenced.add(p.item)
            reloc = GenericReloc(p.offset, "VANILLA", 4, True, symbol=cname(p.item))
        elif form == "pcrel" and inside:  # non-extern: its target must lie in the section
            reloc = GenericReloc(p.offset, "VANILLA", p.width, True, section=laid.key)
        elif form != "resolved":
            kind = "SECTDIFF" if o.external(p.item) else "LOCAL_SECTDIFF"
            reloc = GenericReloc(p.offset, kind, p.width, value=item, pair=at)
        else:
            reloc = None
    mask = (1 << (8 * p.width)) - 1
    laid.data[p.offset:p.offset + p.width] = struct.pack(PACK[p.width], field_value & mask)
    return reloc


def assemble_i386(obj: AsmObject, choices: Choices32) -> MachoImage32:
    o = _Object(obj, choices.jump_table)
    referenced: set[str] = set()
    sections: list[Section32] = []
    for laid in o.laids:
        relocs = [r for p in laid.pending
                  if (r := _relocate(o, laid, p, choices, referenced)) is not None]
        code = laid.sec is not None and laid.sec.kind is SectionKind.TEXT
        zerofill = laid.sec is not None and laid.sec.kind is SectionKind.BSS
        indirect = tuple(cname(p.name) for p in laid.pending) if laid.sec is None else ()
        sections.append(Section32(
            laid.segment, laid.name, laid.align, laid.addr,
            b"" if zerofill else bytes(laid.data), len(laid.data), code, zerofill,
            tuple(relocs), indirect, len(JUMP_ENTRY) if laid.name == JUMP_TABLE[1] else 0))
    symbols: list[MachoSymbol] = []
    for name, (laid, off) in o.where.items():
        b = o.binding.get(name, Binding.LOCAL)
        symbols.append(MachoSymbol(
            cname(name), "sect", b is not Binding.LOCAL, laid.addr + off, laid.key,
            private_extern=b is Binding.GLOBAL and choices.private_extern(name),
            weak_def=b is Binding.WEAK))
    symbols += [MachoSymbol(cname(a.name), "abs", True, a.value) for a in obj.absolutes]
    symbols += [MachoSymbol(cname(c.name), "common", True, c.size, common_align=c.align)
                for c in obj.commons]
    known = set(o.where) | {a.name for a in obj.absolutes} | {c.name for c in obj.commons}
    symbols += [MachoSymbol(cname(n), "undef", True,
                            weak_ref=n in libtrace.IMPORTS and choices.weak_ref(n)
                            or n.startswith(WEAK_REF_PREFIX))
                for n in sorted(referenced - known)]
    return MachoImage32(tuple(sections), tuple(symbols))
