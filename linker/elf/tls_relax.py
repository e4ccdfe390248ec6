"""Relaxing x86-64 general- and local-dynamic TLS accesses to local exec.

A -fPIC object reaches its thread-local variables through `__tls_get_addr`, because a
shared library's TLS block is found at run time.  In an executable the block sits at a
fixed offset from the thread pointer, so the linker rewrites the psABI's fixed code
sequences (Drepper, "ELF Handling For Thread-Local Storage", §5.5) in place:

    general dynamic (16 bytes)                 local exec
    66 48 8d 3d [x@tlsgd]  data16 lea ..,%rdi  64 48 8b 04 25 00000000  mov %fs:0,%rax
    66 66 48 e8 [__tls_get_addr@plt]  call     48 8d 80 [x@tpoff]       lea ..(%rax),%rax

    local dynamic (12 bytes)                   local exec
    48 8d 3d [x@tlsld]     lea ..,%rdi         66 66 66 64 48 8b 04 25 00000000
    e8 [__tls_get_addr@plt] call                                        mov %fs:0,%rax

and every x@dtpoff (an offset from the module's block, which is now at TP) becomes
x@tpoff.  Decided at link time, once the output kind is known (`relax_tls_in_executable`,
before scan): a shared object keeps the sequences and their GOT pairs.  A sequence that
does not match is refused.
"""

from __future__ import annotations

import numpy as np

from ..errors import LinkError
from ..model import RelocTable, SectionFlags
from ..resolve import SymbolTable

R_PC32, R_PLT32, R_GOTPCRELX = 2, 4, 41
R_DTPOFF64, R_TLSGD, R_TLSLD, R_DTPOFF32 = 17, 19, 20, 21
R_TPOFF64, R_TPOFF32, R_NONE = 18, 23, 0
RELAXABLE = (R_DTPOFF64, R_TLSGD, R_TLSLD, R_DTPOFF32)

GD_LEA, GD_CALL = bytes.fromhex("66488d3d"), bytes.fromhex("666648e8")
LD_LEA, LD_CALL = bytes.fromhex("488d3d"), bytes.fromhex("e8")
LE_FROM_GD = bytes.fromhex("64488b042500000000" "488d80")  # + the 4-byte tpoff field
LE_FROM_LD = bytes.fromhex("666666" "64488b042500000000")


def relax_tls_in_executable(symtab: SymbolTable) -> None:
    """Relax every x86-64 general- and local-dynamic sequence (and DTPOFF field) of code
    linked into an executable, where the TLS block is at a fixed offset from TP."""
    for obj in symtab.objects:
        if obj.arch != "x86_64":
            continue
        for sec in obj.sections:
            if (sec is None or sec.data is None or not len(sec.relocs)
                    or SectionFlags.ALLOC not in sec.flags):
                continue
            rows = sec.relocs.rows
            if not np.isin(rows["howto"], RELAXABLE).any():
                continue
            data, offset, rtype, _sym, addend = relax_tls(
                sec.data, rows["offset"], rows["howto"].astype(np.int64), rows["symbol"],
                rows["addend"], obj.path, sec.name)
            new = rows.copy()
            new["offset"], new["howto"], new["addend"] = offset, rtype, addend
            sec.data = data
            keep = rtype != R_NONE
            sub = sec.relocs.subtrahend
            sec.relocs = RelocTable(new[keep], sub[keep] if sub is not None else None)


def relax_tls(data: bytes | memoryview, offset: np.ndarray, rtype: np.ndarray,
              sym: np.ndarray, addend: np.ndarray, where: str, section: str
              ) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rewrite GD/LD sequences and DTPOFF fields; returns new (data, offset, type, symbol,
    addend).  Rows made useless (the call to __tls_get_addr) become R_X86_64_NONE."""
    code = bytearray(data)
    offset, rtype, addend = offset.copy(), rtype.copy(), addend.copy()
    by_offset = {int(o): n for n, o in enumerate(offset.tolist())}
    for n in np.nonzero(np.isin(rtype, RELAXABLE))[0].tolist():
        at, kind = int(offset[n]), int(rtype[n])
        if kind in (R_DTPOFF32, R_DTPOFF64):
            rtype[n] = R_TPOFF32 if kind == R_DTPOFF32 else R_TPOFF64
            continue
        gd = kind == R_TLSGD
        lea, call = (GD_LEA, GD_CALL) if gd else (LD_LEA, LD_CALL)
        start = at - len(lea)
        call_at = at + 4 + len(call)  # the call's 4-byte target field
        ok = start >= 0 and bytes(code[start:at]) == lea \
            and bytes(code[at + 4:at + 4 + len(call)]) == call and call_at + 4 <= len(code)
        partner = by_offset.get(call_at)
        if not ok or partner is None or int(rtype[partner]) not in (R_PC32, R_PLT32):
            raise LinkError(f"{'R_X86_64_TLSGD' if gd else 'R_X86_64_TLSLD'} is not in the "
                            "psABI's code sequence (lea; call __tls_get_addr@PLT), so it "
                            "cannot be relaxed to local exec", file=where, section=section,
                            offset=at)
        rtype[partner] = R_NONE
        if gd:
            code[start:start + 16] = LE_FROM_GD + bytes(4)
            offset[n], rtype[n] = start + 12, R_TPOFF32
            addend[n] += 4  # the field is no longer pc-relative
        else:
            code[start:start + 12] = LE_FROM_LD
            rtype[n] = R_NONE
    return bytes(code), offset, rtype, sym, addend
