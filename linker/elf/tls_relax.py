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
from ..model import TYPE_TLS, RelocTable, is_thread_local
from ..reloc_view import allocated_relocations, joined_symbol_column
from ..resolve import SymbolTable

R_PC32, R_PLT32, R_GOTPCREL, R_GOTPCRELX, R_REX_GOTPCRELX = 2, 4, 9, 41, 42
R_DTPOFF64, R_TLSGD, R_TLSLD, R_DTPOFF32 = 17, 19, 20, 21
R_TPOFF64, R_TPOFF32, R_NONE, R_GOTTPOFF = 18, 23, 0, 22
RELAXABLE = (R_DTPOFF64, R_TLSGD, R_TLSLD, R_DTPOFF32)
TLS_GET_ADDR = frozenset({"__tls_get_addr", "___tls_get_addr"})  # x86-64, i386

# i386 (GNU's TLS ABI): general and local dynamic
#   leal x@tlsgd(,%ebx,1), %eax  8d 04 1d [..]   | leal x@tlsgd(%reg), %eax  8d 8r [..]
#   call ___tls_get_addr@PLT     e8 [..]         | call *___tls_get_addr@GOT(%reg) ff 9r [..]
# become local exec: movl %gs:0, %eax (65 a1 00000000), then for a variable
# subl $x@tpoff, %eax (81 e8 [..], or 2d [..] to fit 11 bytes), nop-padded; and every
# x@dtpoff (R_386_TLS_LDO_32) becomes x@ntpoff (R_386_TLS_LE, S + A - TP).
R386_NONE, R386_PC32, R386_GOT32, R386_PLT32, R386_GOT32X = 0, 2, 3, 4, 43
R386_TLS_LE, R386_TLS_GD, R386_TLS_LDM, R386_TLS_LDO_32, R386_TLS_LE_32 = 17, 18, 19, 32, 34
R386_TLS_GOTIE = 16
I386_RELAXABLE = (R386_TLS_GD, R386_TLS_LDM, R386_TLS_LDO_32)
# Relaxable or not, by raw type number (howto is 16-bit): one fancy-index per section
# instead of np.isin, whose fixed cost on a section of a few relocations was most of it.
_RELAXABLE_TYPE = {False: np.zeros(1 << 16, dtype=bool), True: np.zeros(1 << 16, dtype=bool)}
_RELAXABLE_TYPE[False][list(RELAXABLE)] = True
_RELAXABLE_TYPE[True][list(I386_RELAXABLE)] = True
_GS0 = bytes.fromhex("65a100000000")  # movl %gs:0, %eax
_NOPS = {5: bytes.fromhex("0f1f440000"), 6: bytes.fromhex("660f1f440000")}

GD_LEA, GD_CALL = bytes.fromhex("66488d3d"), bytes.fromhex("666648e8")
LD_LEA, LD_CALL = bytes.fromhex("488d3d"), bytes.fromhex("e8")
# -fno-plt: data16 rex64 call *__tls_get_addr@GOTPCREL(%rip); call *...@GOTPCREL(%rip)
GD_CALL_GOT, LD_CALL_GOT = bytes.fromhex("6648ff15"), bytes.fromhex("ff15")
LE_FROM_GD = bytes.fromhex("64488b042500000000" "488d80")  # + the 4-byte tpoff field
LE_FROM_LD = bytes.fromhex("666666" "64488b042500000000")
IE_FROM_GD = bytes.fromhex("64488b042500000000" "480305")  # mov %fs:0,%rax; add x@gottpoff(%rip),%rax


def relax_tls_in_executable(symtab: SymbolTable, preemptible: np.ndarray) -> None:
    """Relax every general- and local-dynamic sequence (and DTPOFF field) of code linked
    into an executable, where its own TLS block is at a fixed offset from TP: to local
    exec, or to initial exec for a variable a shared library defines (`preemptible`)."""
    # A TLS sequence refers to a TLS symbol or a TLS section: a link with neither has none
    if not _has_tls(symtab):
        return
    # Only the sections holding a relaxable row (asked of every row of the link at once)
    view = allocated_relocations(symtab, with_data=True)
    narrow = np.array([obj.arch == "i386" for obj in symtab.objects], dtype=bool)
    howto = view.rows["howto"]
    relaxable = np.where(narrow[view.object_of], _RELAXABLE_TYPE[True][howto],
                         _RELAXABLE_TYPE[False][howto])
    for number, sec in view.sections_where(relaxable):
        obj, gids = symtab.objects[number], symtab.gids[number]
        i386 = obj.arch == "i386"
        assert sec.data is not None
        rows = sec.relocs.rows
        relax = relax_tls_i386 if i386 else relax_tls
        targets = gids[rows["symbol"]]
        imported = np.where(targets >= 0, preemptible[np.maximum(targets, 0)], False)
        data, offset, rtype, _sym, addend = relax(
            sec.data, rows["offset"], rows["howto"].astype(np.int64), rows["symbol"],
            rows["addend"], obj.path, sec.name, imported)
        new = rows.copy()
        new["offset"], new["howto"], new["addend"] = offset, rtype, addend
        sec.data = data
        keep = rtype != (R386_NONE if i386 else R_NONE)
        sub = sec.relocs.subtrahend
        sec.relocs = RelocTable(new[keep], sub[keep] if sub is not None else None)


def _has_tls(symtab: SymbolTable) -> bool:
    """Does any input define or refer to a thread-local symbol, or hold a TLS section?"""
    if (joined_symbol_column(symtab.objects, "type") == TYPE_TLS).any():
        return True
    return any(sec is not None and is_thread_local(sec.flags)
               for obj in symtab.objects for sec in obj.sections)


def relax_tls(data: bytes | memoryview, offset: np.ndarray, rtype: np.ndarray,
              sym: np.ndarray, addend: np.ndarray, where: str, section: str,
              imported: np.ndarray | None = None
              ) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rewrite GD/LD sequences and DTPOFF fields; returns new (data, offset, type, symbol,
    addend).  Rows made useless (the call to __tls_get_addr) become R_X86_64_NONE.  A GD
    row marked in `imported` becomes initial exec (its variable is another module's)."""
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
        # -fno-plt calls through the GOT (one byte longer for local dynamic)
        got_call = GD_CALL_GOT if gd else LD_CALL_GOT
        partner_types: tuple[int, ...] = (R_PC32, R_PLT32)
        if bytes(code[at + 4:at + 4 + len(got_call)]) == got_call:
            call, partner_types = got_call, (R_GOTPCREL, R_GOTPCRELX, R_REX_GOTPCRELX)
        start = at - len(lea)
        call_at = at + 4 + len(call)  # the call's 4-byte target field
        ok = start >= 0 and bytes(code[start:at]) == lea \
            and bytes(code[at + 4:at + 4 + len(call)]) == call and call_at + 4 <= len(code)
        partner = by_offset.get(call_at)
        if not ok or partner is None or int(rtype[partner]) not in partner_types:
            raise LinkError(f"{'R_X86_64_TLSGD' if gd else 'R_X86_64_TLSLD'} is not in the "
                            "psABI's code sequence (lea; call __tls_get_addr@PLT), so it "
                            "cannot be relaxed to local exec", file=where, section=section,
                            offset=at)
        rtype[partner] = R_NONE
        if gd and imported is not None and imported[n]:
            code[start:start + 16] = IE_FROM_GD + bytes(4)
            offset[n], rtype[n] = start + 12, R_GOTTPOFF  # same addend: the field ends both
        elif gd:
            code[start:start + 16] = LE_FROM_GD + bytes(4)
            offset[n], rtype[n] = start + 12, R_TPOFF32
            addend[n] += 4  # the field is no longer pc-relative
        else:
            length = call_at + 4 - start  # 12, or 13 through the GOT
            code[start:start + length] = LE_FROM_LD + b"\x90" * (length - 12)
            rtype[n] = R_NONE
    return bytes(code), offset, rtype, sym, addend


def relax_tls_i386(data: bytes | memoryview, offset: np.ndarray, rtype: np.ndarray,
                   sym: np.ndarray, addend: np.ndarray, where: str, section: str,
                   imported: np.ndarray | None = None
                   ) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The i386 rewrites (see the table above); same contract as relax_tls."""
    code = bytearray(data)
    offset, rtype, addend = offset.copy(), rtype.copy(), addend.copy()
    by_offset = {int(o): n for n, o in enumerate(offset.tolist())}
    for n in np.nonzero(np.isin(rtype, I386_RELAXABLE))[0].tolist():
        at, kind = int(offset[n]), int(rtype[n])
        if kind == R386_TLS_LDO_32:
            rtype[n] = R386_TLS_LE
            continue
        gd = kind == R386_TLS_GD
        start = _i386_lea_start(code, at, sib_allowed=gd)
        call = _i386_call(code, at + 4, by_offset, rtype)
        if start is None or call is None:
            raise LinkError(f"{'R_386_TLS_GD' if gd else 'R_386_TLS_LDM'} is not in GNU's "
                            "code sequence (leal; call ___tls_get_addr), so it cannot be "
                            "relaxed to local exec", file=where, section=section, offset=at)
        partner, call_len = call
        rtype[partner] = R386_NONE
        total = at + 4 + call_len - start
        if gd and imported is not None and imported[n]:
            # initial exec: movl %gs:0, %eax; addl x@gotntpoff(%reg), %eax (03 8r)
            base = 3 if code[start + 1] == 0x04 else code[start + 1] & 7  # SIB: %ebx
            new = _GS0 + bytes([0x03, 0x80 | base]) + bytes(4)
            if total < len(new):
                raise LinkError("R_386_TLS_GD to a shared library's variable in an 11-byte "
                                "sequence cannot become initial exec", file=where,
                                section=section, offset=at)
            code[start:start + total] = new + b"\x90" * (total - len(new))
            offset[n], rtype[n], addend[n] = start + 8, R386_TLS_GOTIE, 0
        elif gd:
            sub = bytes.fromhex("2d") if total == 11 else bytes.fromhex("81e8")
            new = _GS0 + sub + bytes(4)
            code[start:start + total] = new + bytes.fromhex("90") * (total - len(new))
            offset[n], rtype[n], addend[n] = start + len(_GS0) + len(sub), R386_TLS_LE_32, 0
        else:
            code[start:start + total] = _GS0 + _NOPS[total - len(_GS0)]
            rtype[n] = R386_NONE
    return bytes(code), offset, rtype, sym, addend


def _i386_lea_start(code: bytearray, at: int, sib_allowed: bool) -> int | None:
    """Where `leal x@tlsgd/tlsldm(...), %eax` starts, its disp32 being at `at`."""
    if sib_allowed and at >= 3 and code[at - 3:at] == bytes.fromhex("8d041d"):
        return at - 3
    modrm = code[at - 1] if at >= 2 else 0
    if at >= 2 and code[at - 2] == 0x8D and modrm & 0xF8 == 0x80 and modrm & 7 != 4:
        return at - 2  # mod 10, reg %eax, a base register
    return None


def _i386_call(code: bytearray, at: int, by_offset: dict[int, int],
               rtype: np.ndarray) -> tuple[int, int] | None:
    """(relocation row, length) of the call to ___tls_get_addr that starts at `at`."""
    if at + 5 <= len(code) and code[at] == 0xE8:
        row = by_offset.get(at + 1)
        if row is not None and int(rtype[row]) in (R386_PC32, R386_PLT32):
            return row, 5
    if at + 6 <= len(code) and code[at] == 0xFF and code[at + 1] & 0xF8 == 0x90:
        row = by_offset.get(at + 2)
        if row is not None and int(rtype[row]) in (R386_GOT32, R386_GOT32X):
            return row, 6
    return None
