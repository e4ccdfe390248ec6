"""Our Mach-O assembler pass: lays out an `AsmObject` (lowered by fuzz.macho.lower) in the
object's own address space and turns every reference into a Mach-O relocation entry.

Choices a real assembler makes one way or another are drawn (by `Choices`), so the linker
sees both: a reference to a static symbol is extern (against the local symbol) or
non-extern (against the section, the field holding the target's address in this object's
address space); global definitions may be private extern (N_PEXT); imports may be weak
references (N_WEAK_REF).  Data fields: 8-byte pointers are UNSIGNED; pc-relative fields of
an item to itself are SUBTRACTOR pairs (minus a local label at the field, plus the item).
Names get Darwin's leading underscore.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from .. import libtrace
from ..lower_x86 import AsmObject, AsmSection
from ..model import Binding, Const, SectionKind, SelfRel
from .emit_macho import MachoImage, MachoReloc, MachoSection, MachoSymbol
from .lower import encode

PACK = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}
_BASE = {SectionKind.TEXT: "__text", SectionKind.DATA: "__data", SectionKind.RODATA: "__const",
         SectionKind.BSS: "__bss"}
_CANONICAL = {".text", ".data", ".rodata", ".bss"}


# a name our writers always reference weakly (N_WEAK_REF), import or not: fuzz/macho/archive.py
# draws such a reference to an archive member (ld64 lets it pull the member)
WEAK_REF_PREFIX = "lh_arw_"


@dataclass(frozen=True)
class Choices:
    """Per-object drawn decisions, as predicates over names."""

    non_extern: Callable[[str], bool]  # reference to this static symbol: non-extern
    private_extern: Callable[[str], bool]
    weak_ref: Callable[[str], bool]


def cname(name: str) -> str:
    return "_" + name


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _place(sec: AsmSection, used: set[str]) -> tuple[str, str]:
    """(segment, section) names: __TEXT for code and pointer-free read-only data, __DATA
    for the rest (read-only data holding pointers needs rebasing: __DATA,__const)."""
    has_refs = any(not isinstance(f, Const | SelfRel) for i in sec.items for f in i.fields)
    segment = "__TEXT" if sec.kind is SectionKind.TEXT or (
        sec.kind is SectionKind.RODATA and not has_refs) else "__DATA"
    if sec.name in _CANONICAL:
        name = _BASE[sec.kind]
    elif sec.name.startswith("."):
        name = (_BASE[sec.kind] + "_" + sec.name.split(".", 2)[-1].replace(".", "_"))[:16]
    else:
        name = sec.name[:16]
    while f"{segment},{name}" in used:
        name = name[:14] + f"{len(used):02d}"
    used.add(f"{segment},{name}")
    return segment, name


def _file_order(sections: tuple[AsmSection, ...]) -> list[AsmSection]:
    """Zerofill sections last, as Mach-O objects have them."""
    return [s for s in sections if s.kind is not SectionKind.BSS] + [
        s for s in sections if s.kind is SectionKind.BSS]


def section_names(sections: tuple[AsmSection, ...]) -> list[tuple[str, str]]:
    """(segment, section) of every section, in the given order (unique names)."""
    used: set[str] = set()
    placed = {id(s): _place(s, used) for s in _file_order(sections)}
    return [placed[id(s)] for s in sections]


@dataclass
class _Laid:
    segment: str
    name: str
    sec: AsmSection
    data: bytearray
    align: int
    addr: int = 0
    pending: list[tuple[int, str, str, int, int]] | None = None  # off, kind, name, addend, n
    fields: list[tuple[int, int, str, str, int]] | None = None  # off, width, kind, tgt, add

    @property
    def key(self) -> str:
        return f"{self.segment},{self.name}"


def _lay(sec: AsmSection, segment: str, name: str) -> tuple[_Laid, list[tuple[str, int]]]:
    """Bytes, pending references and item offsets of one section."""
    laid = _Laid(segment, name, sec, bytearray(), sec.align, pending=[], fields=[])
    assert laid.pending is not None and laid.fields is not None
    items: list[tuple[str, int]] = []
    for item in sec.items:
        laid.align = max(laid.align, item.align)
        start = _align(len(laid.data), item.align)
        laid.data += bytes(start - len(laid.data))
        items.append((item.name, start))
        for insn in item.code:
            code, fixups = encode(insn)
            laid.pending += [(len(laid.data) + f.offset, f.kind, f.name, f.addend, f.trailing)
                             for f in fixups]
            laid.data += code
        for k, f in enumerate(item.fields):
            at = len(laid.data)
            if isinstance(f, Const):
                laid.data += struct.pack(PACK[f.width], f.value & ((1 << (8 * f.width)) - 1))
                continue
            if isinstance(f, SelfRel):
                label = f"lh.self.{item.name}.{k}"
                items.append((label, at))
                laid.fields.append((at, f.width, "pair", item.name + "\0" + label, f.addend))
            else:
                laid.fields.append((at, f.width, "ptr", f.target, f.addend))
            laid.data += bytes(f.width)
    return laid, items


def assemble(obj: AsmObject, choices: Choices) -> MachoImage:
    laids: list[_Laid] = []
    where: dict[str, tuple[_Laid, int]] = {}
    binding: dict[str, Binding] = {}
    functions: set[str] = set()
    placed = dict(zip((id(s) for s in obj.sections), section_names(obj.sections)))
    for sec in _file_order(obj.sections):
        segment, name = placed[id(sec)]
        laid, items = _lay(sec, segment, name)
        laids.append(laid)
        for item_name, off in items:
            where[item_name] = (laid, off)
        for item in sec.items:
            binding[item.name] = item.binding
            if item.is_function:
                functions.add(item.name)
    addr = 0
    for laid in laids:
        laid.addr = addr = _align(addr, laid.align)
        addr += len(laid.data)

    def address(name: str) -> int:
        laid, off = where[name]
        return laid.addr + off

    def local(name: str) -> bool:
        return name in where and binding.get(name, Binding.LOCAL) is Binding.LOCAL

    referenced: set[str] = set()
    sections: list[MachoSection] = []
    for laid in laids:
        assert laid.pending is not None and laid.fields is not None
        relocs: list[MachoReloc] = []
        data = laid.data
        for off, kind, name, addend, n in laid.pending:
            if local(name) and kind in ("BRANCH", "SIGNED", "SIGNED_1", "SIGNED_2", "SIGNED_4") \
                    and choices.non_extern(name):
                # non-extern: the field is the displacement within this object's layout
                kind = "SIGNED" if kind == "BRANCH" else kind
                target_laid, _ = where[name]
                value = address(name) + addend - (laid.addr + off + 4 + n)
                relocs.append(MachoReloc(off, kind, 4, section=target_laid.key))
            else:
                value = addend - n
                referenced.add(name)
                relocs.append(MachoReloc(off, kind, 4, symbol=cname(name)))
            data[off:off + 4] = struct.pack("<i", value)
        for off, width, kind, target, addend in laid.fields:
            if kind == "pair":
                minuend, label = target.split("\0")
                relocs.append(MachoReloc(off, "SUBTRACTOR", width, symbol=cname(label)))
                referenced.add(label)
                target = minuend
            if local(target) and choices.non_extern(target):
                value = address(target) + addend
                relocs.append(MachoReloc(off, "UNSIGNED", width, section=where[target][0].key))
            else:
                value = addend
                referenced.add(target)
                relocs.append(MachoReloc(off, "UNSIGNED", width, symbol=cname(target)))
            data[off:off + width] = struct.pack(PACK[width], value & ((1 << (8 * width)) - 1))
        sections.append(MachoSection(
            laid.segment, laid.name, laid.align, laid.addr,
            b"" if laid.sec.kind is SectionKind.BSS else bytes(data), len(data),
            laid.sec.kind is SectionKind.TEXT, laid.sec.kind is SectionKind.BSS, tuple(relocs)))
    symbols: list[MachoSymbol] = []
    for name, (laid, off) in where.items():
        b = binding.get(name, Binding.LOCAL)
        symbols.append(MachoSymbol(
            cname(name), "sect", b is not Binding.LOCAL, laid.addr + off, laid.key,
            private_extern=b is Binding.GLOBAL and choices.private_extern(name),
            weak_def=b is Binding.WEAK))
    symbols += [MachoSymbol(cname(a.name), "abs", True, a.value) for a in obj.absolutes]
    symbols += [MachoSymbol(cname(c.name), "common", True, c.size, common_align=c.align)
                for c in obj.commons]
    known = set(where) | {a.name for a in obj.absolutes} | {c.name for c in obj.commons}
    symbols += [MachoSymbol(cname(n), "undef", True,
                            weak_ref=n in libtrace.IMPORTS and choices.weak_ref(n)
                            or n.startswith(WEAK_REF_PREFIX))
                for n in sorted(referenced - known)]
    return MachoImage(tuple(sections), tuple(symbols))
