"""linker/elf/tls_relax.py: GD/LD sequences rewritten to local exec, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from linker.elf import tls_relax as t
from linker.errors import LinkError

NOP = b"\x90"
GD = bytes.fromhex("66488d3d 00000000 666648e8 00000000")  # lea x@tlsgd(%rip); call
LD = bytes.fromhex("488d3d 00000000 e8 00000000")  # lea x@tlsld(%rip); call
LE_GD = bytes.fromhex("64488b042500000000 488d80 00000000")  # mov %fs:0,%rax; lea (%rax)
LE_LD = bytes.fromhex("666666 64488b042500000000")


def relax(data: bytes, rows: list[tuple[int, int, int, int]]
          ) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    offset = np.array([r[0] for r in rows], dtype=np.int64)
    rtype = np.array([r[1] for r in rows], dtype=np.uint32)
    sym = np.array([r[2] for r in rows], dtype=np.int64)
    addend = np.array([r[3] for r in rows], dtype=np.int64)
    before = (offset.copy(), rtype.copy(), addend.copy())
    code, o, ty, s, a = t.relax_tls(data, offset, rtype, sym, addend, "x.o", ".text")
    # the caller's arrays are left alone
    assert (offset == before[0]).all() and (rtype == before[1]).all()
    assert (addend == before[2]).all()
    return code, list(zip(o.tolist(), ty.tolist(), s.tolist(), a.tolist()))


def test_general_dynamic_becomes_local_exec() -> None:
    data = NOP + GD + NOP
    code, rows = relax(data, [(5, t.R_TLSGD, 3, -4), (13, t.R_PLT32, 7, -4)])
    assert code == NOP + LE_GD + NOP
    assert len(code) == len(data)
    # the tpoff field is the last 4 bytes of the 16; no longer pc-relative: addend -4 + 4
    assert rows == [(1 + 12, t.R_TPOFF32, 3, 0), (13, t.R_NONE, 7, -4)]


def test_general_dynamic_with_pc32_call() -> None:
    code, rows = relax(GD, [(12, t.R_PC32, 7, -4), (4, t.R_TLSGD, 3, -4)])
    assert code == LE_GD
    assert rows == [(12, t.R_NONE, 7, -4), (12, t.R_TPOFF32, 3, 0)]


def test_local_dynamic_becomes_local_exec() -> None:
    data = NOP * 2 + LD
    code, rows = relax(data, [(5, t.R_TLSLD, 2, -4), (10, t.R_PLT32, 7, -4)])
    assert code == NOP * 2 + LE_LD
    assert rows == [(5, t.R_NONE, 2, -4), (10, t.R_NONE, 7, -4)]


def test_no_plt_sequences_are_relaxed() -> None:
    """-fno-plt calls __tls_get_addr through its GOT slot (ff 15): the same 16 bytes for
    general dynamic, one more (a nop) for local dynamic."""
    code, rows = relax(bytes.fromhex("66488d3d00000000 6648ff15 00000000"),
                       [(4, t.R_TLSGD, 3, -4), (12, t.R_GOTPCRELX, 7, -4)])
    assert code == LE_GD and rows[0] == (12, t.R_TPOFF32, 3, 0)
    code, rows = relax(bytes.fromhex("488d3d00000000 ff15 00000000"),
                       [(3, t.R_TLSLD, 2, -4), (9, t.R_GOTPCRELX, 7, -4)])
    assert code == LE_LD + NOP and rows[0][1] == rows[1][1] == t.R_NONE


def test_general_dynamic_of_an_imported_variable_becomes_initial_exec() -> None:
    offset = np.array([4, 12], dtype=np.int64)
    code, o, ty, _s, a = t.relax_tls(GD, offset, np.array([t.R_TLSGD, t.R_PLT32]),
                                     np.array([3, 7]), np.array([-4, -4]), "x.o", ".text",
                                     np.array([True, False]))
    assert code == bytes.fromhex("64488b042500000000 480305 00000000")  # add x@gottpoff
    assert (o.tolist(), ty.tolist(), a.tolist()) == ([12, 12], [t.R_GOTTPOFF, t.R_NONE],
                                                     [-4, -4])


def test_dtpoff_becomes_tpoff() -> None:
    code, rows = relax(bytes(16), [(0, t.R_DTPOFF32, 1, 8), (8, t.R_DTPOFF64, 2, 0)])
    assert code == bytes(16)
    assert rows == [(0, t.R_TPOFF32, 1, 8), (8, t.R_TPOFF64, 2, 0)]


def test_other_relocations_untouched() -> None:
    data = bytes(range(12))
    code, rows = relax(data, [(0, t.R_PC32, 1, -4), (4, t.R_GOTPCRELX, 2, -4)])
    assert code == data and rows == [(0, t.R_PC32, 1, -4), (4, t.R_GOTPCRELX, 2, -4)]


@pytest.mark.parametrize(("data", "rows"), [
    # wrong lea prefix (no data16)
    (NOP + GD[1:] + NOP, [(4, t.R_TLSGD, 3, -4), (12, t.R_PLT32, 7, -4)]),
    # call through the GOT (-fno-plt) whose relocation is a PC32
    (bytes.fromhex("66488d3d00000000 6648ff15 00000000"),
     [(4, t.R_TLSGD, 3, -4), (12, t.R_PC32, 7, -4)]),
    # the call has no relocation
    (GD, [(4, t.R_TLSGD, 3, -4)]),
    # the call's relocation has the wrong type
    (GD, [(4, t.R_TLSGD, 3, -4), (12, t.R_GOTPCRELX, 7, -4)]),
    # truncated: the call's field runs past the section
    (GD[:14], [(4, t.R_TLSGD, 3, -4), (12, t.R_PLT32, 7, -4)]),
    # the lea would start before the section
    (GD[2:], [(2, t.R_TLSGD, 3, -4), (10, t.R_PLT32, 7, -4)]),
])
def test_non_matching_gd_refused(data: bytes, rows: list[tuple[int, int, int, int]]) -> None:
    with pytest.raises(LinkError) as e:
        relax(data, rows)
    msg = str(e.value)
    assert msg.startswith("x.o: section .text+0x")
    assert "R_X86_64_TLSGD is not in the psABI's code sequence" in msg


def test_non_matching_ld_refused() -> None:
    data = bytes.fromhex("488d0d 00000000 e8 00000000")  # lea ..,%rcx: not %rdi
    with pytest.raises(LinkError, match=r"section \.text\+0x3: R_X86_64_TLSLD is not"):
        relax(data, [(3, t.R_TLSLD, 2, -4), (8, t.R_PLT32, 7, -4)])
