"""linker/apply.py: every kind's formula on a small hand-made link, and the overflow message.

The pipeline here is the real one from scan to apply (scan_relocations, build_synthetic,
assign_addresses, symbol_addresses, apply_relocations) on objects built as records, so the
expected values are computed from the layout by the formulas of DESIGN.md.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from linker.apply import SymbolAddresses, apply_relocations, local_addresses, symbol_addresses
from linker.elf.relocs_x86_64 import SUPPORTED
from linker.errors import LinkError
from linker.kinds import Howto, Overflow, RelocKind
from linker.layout import Layout, OutputSection, Segment, assign_addresses
from linker.model import (
    ABS,
    RELOC_DTYPE,
    UNDEF,
    DynamicLibrary,
    DynamicSymbol,
    InputSection,
    ObjectFile,
    RelocTable,
    SectionFlags,
    SectionRole,
    SymbolTable,
    SymType,
)
from linker.resolve import SymbolTable as Globals
from linker.scan import TLS_GOT, ScanResult, scan_relocations
from linker.synth import Synthetic, build_synthetic
from linker.targets import X86_64

SUB64 = Howto("<sub64>", RelocKind.SUB, 8, Overflow.NONE)
HOWTOS = [SUPPORTED.get(n, Howto("?", RelocKind.NONE, 0, Overflow.NONE)) for n in range(43)]
HOWTOS.append(SUB64)
R = {h.name.removeprefix("R_X86_64_"): n for n, h in enumerate(HOWTOS)}
R["SUB64"] = len(HOWTOS) - 1
TEXT, DATA, TDATA = 1, 2, 3
# symbol indices: 1 loc (local, .data+0x10), 2 g (global, .data+0x20, size 12),
# 3 seven (ABS 0x7f), 4 tv (TLS, .tdata+4), 5 puts (undefined)
LOC, GSYM, SEVEN, TV, PUTS = 1, 2, 3, 4, 5
TP = 0x7000_0000


@dataclass
class Linked:
    image: bytearray
    layout: Layout
    syms: SymbolAddresses
    synthetic: Synthetic
    table: Globals
    obj: ObjectFile
    got_base: int
    scan: ScanResult

    def addr(self, sec: int, offset: int = 0) -> int:
        section = self.obj.sections[sec]
        assert section is not None
        return self.layout.address_of(section) + offset

    def read(self, sec: int, offset: int, fmt: str) -> int:
        section = self.obj.sections[sec]
        assert section is not None
        at = self.layout.section_file_offset[id(section)] + offset
        value: int = struct.unpack_from(fmt, self.image, at)[0]
        return value


Row = tuple[int, str, int, int]  # offset, type name without R_X86_64_, symbol, addend


def link(text: list[Row], data: Sequence[Row] = (), data_sub: list[int] | None = None, dynamic: bool = False) -> Linked:
    obj = ObjectFile("a.o", "x86_64", [None], None, HOWTOS)  # type: ignore[arg-type]
    W, X = SectionFlags.ALLOC | SectionFlags.WRITE, SectionFlags.ALLOC | SectionFlags.EXEC
    for n, (name, flags, rows, sub) in enumerate([
            (".text", X, text, None), (".data", W, list(data), data_sub),
            (".tdata", W | SectionFlags.TLS, [], None)], start=1):
        table = np.array([(o, R[t], s, a) for o, t, s, a in rows], dtype=RELOC_DTYPE)
        relocs = RelocTable(table, None if sub is None else np.array(sub, dtype=np.int64))
        obj.sections.append(InputSection(obj, n, name, flags, SectionRole.NORMAL, 16, 128,
                                         bytes(128), relocs))
    names = ["", "loc", "g", "seven", "tv", "puts"]
    obj.symbols = SymbolTable(
        names=names,
        value=np.array([0, 0x10, 0x20, 0x7f, 4, 0], dtype=np.uint64),
        size=np.array([0, 4, 12, 0, 4, 0], dtype=np.uint64),
        section=np.array([UNDEF, DATA, DATA, ABS, TDATA, UNDEF], dtype=np.int32),
        binding=np.array([0, 0, 1, 1, 1, 1], dtype=np.uint8),
        type=np.array([0, SymType.OBJECT, SymType.OBJECT, 0, SymType.TLS, 0], dtype=np.uint8),
        visibility=np.zeros(6, dtype=np.uint8))
    t = Globals()
    t.add_object(obj)
    if dynamic:
        t.add_library(DynamicLibrary("libc.so.6", "libc.so.6",
                                     {"puts": DynamicSymbol("puts", SymType.FUNC, 0)}))
    scan = scan_relocations(t, 8)
    synthetic = build_synthetic(X86_64, t, scan, dynamic=dynamic)
    outs: dict[str, OutputSection] = {}
    for o in t.objects:
        for sec in o.sections:
            if sec is None or sec.file is not o:
                continue
            out = outs.setdefault(sec.name, OutputSection(
                sec.name, sec.flags, nobits=sec.role is SectionRole.ZEROFILL))
            out.add(sec)
    segs = [Segment(flags, [o for o in outs.values()
                            if (SectionFlags.WRITE in o.flags) == w and
                            (SectionFlags.EXEC in o.flags) == x])
            for flags, w, x in ((SectionFlags.ALLOC, False, False),
                                (SectionFlags.ALLOC | SectionFlags.EXEC, False, True),
                                (SectionFlags.ALLOC | SectionFlags.WRITE, True, False))]
    segs = [s for s in segs if s.sections]
    layout = assign_addresses(segs, base=0x400000, page=0x1000, header_size=0x100)
    got_base = layout.address_of(synthetic.got_plt) if synthetic.got_plt is not None else 0
    syms = symbol_addresses(t, layout, synthetic, scan, {})
    image = bytearray(layout.end_of_file_data)
    apply_relocations(image, t, layout, syms, scan, synthetic, got_base, TP)
    return Linked(image, layout, syms, synthetic, t, obj, got_base, scan)


def test_every_kind_static() -> None:
    rows = [(0, "64", GSYM, 5), (8, "PC32", GSYM, -4), (12, "PLT32", GSYM, -4),
            (16, "GOTPCREL", GSYM, -4), (24, "GOTOFF64", GSYM, 3), (32, "GOTPC32", GSYM, 2),
            (36, "SIZE32", GSYM, 1), (40, "TPOFF32", TV, 0), (44, "32", LOC, 6),
            (48, "GOTPCREL", LOC, -4), (52, "16", SEVEN, 1), (54, "8", SEVEN, 0),
            (56, "GOTTPOFF", TV, -4)]
    m = link(rows, [(0, "SUB64", GSYM, 7)], data_sub=[LOC])
    S_g, S_loc, S_tv = m.addr(DATA, 0x20), m.addr(DATA, 0x10), m.addr(TDATA, 4)
    P = m.addr(TEXT)
    got = m.synthetic.got
    assert got is not None and m.got_base != 0
    G_g = m.layout.address_of(got) + m.synthetic.got_slot_offset[m.table.by_name["g"].id]
    assert m.read(TEXT, 0, "<Q") == S_g + 5  # S + A
    assert m.read(TEXT, 8, "<i") == S_g - 4 - (P + 8)  # S + A - P
    assert m.read(TEXT, 12, "<i") == S_g - 4 - (P + 12)  # L = S for a defined symbol
    assert m.read(TEXT, 16, "<i") == G_g - 4 - (P + 16)  # G + A - P
    assert m.read(TEXT, 24, "<q") == S_g + 3 - m.got_base  # S + A - GOT
    assert m.read(TEXT, 32, "<i") == m.got_base + 2 - (P + 32)  # GOT + A - P
    assert m.read(TEXT, 36, "<I") == 12 + 1  # Z + A
    assert m.read(TEXT, 40, "<i") == S_tv - TP  # S + A - TP
    assert m.read(TEXT, 44, "<I") == S_loc + 6
    assert m.read(TEXT, 52, "<H") == 0x80 and m.read(TEXT, 54, "<B") == 0x7f
    # a local's GOT slot: keyed (object 0, symbol index), filled statically with its address
    local_slot = m.layout.address_of(got) + m.synthetic.got_slot_offset[(0, LOC)]
    assert m.read(TEXT, 48, "<i") == local_slot - 4 - (P + 48)
    # initial exec: a GOT slot holding S - TP
    tls_off = m.synthetic.got_slot_offset[(TLS_GOT, m.table.by_name["tv"].id)]
    tls_slot = m.layout.address_of(got) + tls_off
    assert m.read(TEXT, 56, "<i") == tls_slot - 4 - (P + 56)
    got_pos = m.layout.section_file_offset[id(got)]
    assert struct.unpack_from("<q", m.image, got_pos + tls_off)[0] == S_tv - TP
    g_off = m.synthetic.got_slot_offset[m.table.by_name["g"].id]
    assert struct.unpack_from("<Q", m.image, got_pos + g_off)[0] == S_g
    assert m.read(DATA, 0, "<q") == S_g - S_loc + 7  # S - T + A


def test_dynamic_plt_call_and_dynamic_word() -> None:
    m = link([(1, "PLT32", PUTS, -4)], [(8, "64", PUTS, 16)], dynamic=True)
    plt, got_plt = m.synthetic.plt, m.synthetic.got_plt
    assert plt is not None and got_plt is not None
    puts = m.table.by_name["puts"].id
    entry = m.layout.address_of(plt) + m.synthetic.plt_entry_offset[puts]
    slot = m.layout.address_of(got_plt) + m.synthetic.jump_slot_offset[puts]
    assert m.read(TEXT, 1, "<i") == entry - 4 - m.addr(TEXT, 1)  # L + A - P
    plt_pos = m.layout.section_file_offset[id(plt)] + m.synthetic.plt_entry_offset[puts]
    # jmp *slot(%rip): displacement from the end of the 6-byte jmp
    assert struct.unpack_from("<i", m.image, plt_pos + 2)[0] == slot - (entry + 6)
    # jmp PLT0 at the end of the entry
    assert struct.unpack_from("<i", m.image, plt_pos + 12)[0] == \
        m.layout.address_of(plt) - (entry + 16)
    slot_pos = m.layout.section_file_offset[id(got_plt)] + m.synthetic.jump_slot_offset[puts]
    assert struct.unpack_from("<Q", m.image, slot_pos)[0] == entry + 6  # lazy: the push
    # the word in .data is left to ld.so: only A is stored (S counts as 0)
    assert m.read(DATA, 8, "<Q") == 16
    assert m.syms.plt[puts] == entry


def test_local_addresses_special_sections() -> None:
    m = link([])
    addr = local_addresses(m.obj, m.layout)
    assert addr.tolist() == [0, m.addr(DATA, 0x10), m.addr(DATA, 0x20), 0x7f,
                             m.addr(TDATA, 4), 0]


@pytest.mark.parametrize(("rtype", "addend", "bits", "bounds"), [
    ("32", 1 << 32, 32, "[0x0, 0xffffffff]"),
    ("32S", 1 << 31, 32, "[-0x80000000, 0x7fffffff]"),
    ("PC32", 1 << 31, 32, "[-0x80000000, 0x7fffffff]"),
    ("8", 0x100, 8, "[-0x80, 0xff]"),
])
def test_overflow_message(rtype: str, addend: int, bits: int, bounds: str) -> None:
    with pytest.raises(LinkError) as e:
        link([(0, "PC32", GSYM, -4), (0x1c, rtype, GSYM, addend)])
    msg = str(e.value)
    assert msg.startswith(f"a.o: section .text+0x1c: symbol g: R_X86_64_{rtype} value 0x")
    formula = "S + A - P" if rtype.startswith("PC") else "S + A"
    assert f"({formula} with S=0x" in msg and f"A={addend:#x}" in msg and "P=0x" in msg
    assert f"does not fit in {bits} bits {bounds}" in msg
    value = int(msg.split(" value ")[1].split()[0], 16)
    s = int(msg.split("S=")[1].split(",")[0], 16)
    p = int(msg.split("P=")[1].split(",")[0], 16)
    assert value == (s + addend - p if rtype.startswith("PC") else s + addend)


def test_overflow_names_a_local_symbol() -> None:
    with pytest.raises(LinkError, match=r"\+0x4: symbol loc: R_X86_64_PC8 value"):
        link([(4, "PC8", LOC, 0)])


def test_width_8_fields_never_overflow() -> None:
    m = link([(0, "64", GSYM, -(1 << 62))])
    assert m.read(TEXT, 0, "<q") == m.addr(DATA, 0x20) - (1 << 62)
