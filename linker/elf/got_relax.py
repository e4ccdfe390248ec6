"""GOT-load relaxation: a load of a symbol's address from its GOT slot becomes the address
itself when the symbol is known at link time, as GNU ld, lld and mold do.

The assembler marks the relaxable loads (R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX,
R_386_GOT32X); the arch tables give each such howto its `direct` form.  Decided at scan
time, once the symbol is resolved: only for a symbol defined in the output, not
preemptible, not absolute (an absolute address is not at a fixed distance from the code)
and not an IFUNC (its address is its PLT entry).  The rewrites (field at P, ModRM at P-1,
opcode at P-2):

    x86-64, ModRM = rip-relative (mod 00, r/m 101)
      8b   mov  foo@GOTPCREL(%rip), %reg   -> 8d  lea foo(%rip), %reg       field unchanged
      ff15 call *foo@GOTPCREL(%rip)        -> 67 e8  addr32 call foo         field unchanged
      ff25 jmp  *foo@GOTPCREL(%rip)        -> e9 .. 90  jmp foo; nop         field at P-1
    i386, ModRM with a base register (mod 10)
      8b   mov  foo@GOT(%reg), %reg2       -> 8d  lea foo@GOTOFF(%reg), %reg2
      ff9r call *foo@GOT(%reg)             -> 67 e8  addr32 call foo         (`branch` form,
      ffar jmp  *foo@GOT(%reg)             -> e9 .. 90  jmp foo; nop          addend - 4)

Any other instruction keeps its GOT slot: relaxation is an optimisation, never required.
The slot a relaxed load no longer needs is not allocated (scan runs after this).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..kinds import Howto
from ..model import InputSection, ObjectFile, SymType
from ..reloc_view import allocated_relocations, joined_symbol_column
from ..resolve import GlobalSymbol, SymbolTable

_MOV, _LEA, _INDIRECT = 0x8B, 0x8D, 0xFF
_CALL, _JMP, _SIB = 2, 4, 4  # ff /2, ff /4; r/m 100 means a SIB byte follows
_ADDR32, _CALL_REL32, _JMP_REL32, _NOP = 0x67, 0xE8, 0xE9, 0x90
_MOD_RM_MASK, _RIP_RELATIVE, _MOD_MASK, _MOD_DISP32 = 0xC7, 0x05, 0xC0, 0x80


def direct_array(howtos: list[Howto]) -> tuple[np.ndarray, np.ndarray] | None:
    """howto index -> index of its `direct` form and of its branch form (-1: none), or
    None when no howto has one."""
    if not any(h.direct is not None for h in howtos):
        return None

    def index(h: Howto | None) -> int:
        return howtos.index(h) if h is not None else -1

    return (np.array([index(h.direct) for h in howtos], dtype=np.int64),
            np.array([index(h.branch or h.direct) for h in howtos], dtype=np.int64))


def relax_got_loads(symtab: SymbolTable, preemptible: np.ndarray) -> int:
    """Rewrite every relaxable GOT load of a link-time-known symbol; returns how many."""
    known = np.array([_link_time_address(s) for s in symtab.symbols], dtype=bool)
    known &= ~preemptible[:len(known)]
    # Which sections hold a candidate, asked of every row of the link at once.
    view = allocated_relocations(symtab, with_data=True)
    direct = view.by_howto(_direct_index)
    local_known = (joined_symbol_column(symtab.objects, "section") >= 0) \
        & (joined_symbol_column(symtab.objects, "type") != SymType.IFUNC)
    target_known = np.where(view.gid >= 0, known[np.maximum(view.gid, 0)],
                            local_known[view.local])
    wanted = (direct >= 0) & (view.rows["offset"] >= 2) & target_known
    tables: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
    count = 0
    for number, sec in view.sections_where(wanted):
        obj, gids = symtab.objects[number], symtab.gids[number]
        if id(obj.howtos) not in tables:
            tables[id(obj.howtos)] = direct_array(list(obj.howtos))
        direct_of = tables[id(obj.howtos)]
        assert direct_of is not None  # a candidate row has a direct form
        object_known = (obj.symbols.section >= 0) & (obj.symbols.type != SymType.IFUNC)
        count += _relax_section(obj, sec, direct_of, gids, known, object_known)
    return count


def _direct_index(howtos: Sequence[Howto]) -> np.ndarray:
    forms = direct_array(list(howtos))
    return forms[0] if forms is not None else np.full(len(howtos), -1, dtype=np.int64)


def _link_time_address(sym: GlobalSymbol) -> bool:
    """Defined in the output at a place in the image (not absolute, not an IFUNC)."""
    if sym.linker_defined:
        return True
    if sym.file is None or sym.type == SymType.IFUNC:
        return False
    return sym.common or sym.section is not None


def _relax_section(obj: ObjectFile, sec: InputSection, forms: tuple[np.ndarray, np.ndarray],
                   gids: np.ndarray, known: np.ndarray, local_known: np.ndarray) -> int:
    rows = sec.relocs.rows
    direct_of, branch_of = forms
    choice = direct_of[rows["howto"]]
    branch = branch_of[rows["howto"]]
    candidates = np.nonzero((choice >= 0) & (rows["offset"] >= 2))[0]
    if not len(candidates):
        return 0
    gid = gids[rows["symbol"][candidates]]
    target_known = np.where(gid >= 0, known[np.maximum(gid, 0)],
                            local_known[rows["symbol"][candidates]])
    candidates = candidates[target_known]
    if not len(candidates):
        return 0
    code = bytearray(sec.data)  # type: ignore[arg-type]
    is64 = obj.arch == "x86_64"
    done = 0
    for r in candidates.tolist():
        at = int(rows["offset"][r])
        opcode, modrm = code[at - 2], code[at - 1]
        if is64 and (modrm & _MOD_RM_MASK) != _RIP_RELATIVE:
            continue
        if not is64 and ((modrm & _MOD_MASK) != _MOD_DISP32 or modrm & 7 == _SIB):
            continue
        # the ModRM's reg field: /2 is call, /4 jmp (x86-64: rip-relative; i386: a base)
        operation = (modrm >> 3) & 7 if opcode == _INDIRECT else None
        if opcode == _MOV:
            code[at - 2] = _LEA
            rows["howto"][r] = choice[r]
        elif operation in (_CALL, _JMP) and at + 4 <= len(code):
            if operation == _CALL:
                code[at - 2:at] = bytes([_ADDR32, _CALL_REL32])
            else:
                code[at - 2] = _JMP_REL32
                code[at - 1:at + 3] = code[at:at + 4]
                code[at + 3] = _NOP
                rows["offset"][r] = at - 1  # the rel32 now starts one byte earlier
            if not is64:  # G + A - GOT had the field's start as its reference point
                rows["addend"][r] -= 4
            rows["howto"][r] = branch[r]
        else:
            continue
        done += 1
    if done:
        sec.data = bytes(code)
    return done
