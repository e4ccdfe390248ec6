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

import itertools
from collections.abc import Sequence

import numpy as np

from ..kinds import Howto, first_index, per_howto_table
from ..model import TYPE_IFUNC, InputSection, SymType
from ..reloc_view import allocated_relocations, joined_symbol_column
from ..resolve import GlobalSymbol, SymbolTable
from ..targets import arch_of

_MOV, _LEA, _INDIRECT = 0x8B, 0x8D, 0xFF
_CALL, _JMP, _SIB = 2, 4, 4  # ff /2, ff /4; r/m 100 means a SIB byte follows
_ADDR32, _CALL_REL32, _JMP_REL32, _NOP = 0x67, 0xE8, 0xE9, 0x90
_MOD_RM_MASK, _RIP_RELATIVE, _MOD_MASK, _MOD_DISP32 = 0xC7, 0x05, 0xC0, 0x80


def direct_array(howtos: list[Howto]) -> tuple[np.ndarray, np.ndarray] | None:
    """howto index -> index of its `direct` form and of its branch form (-1: none), or
    None when no howto has one."""
    if not any(h.direct is not None for h in howtos):
        return None
    first = first_index(howtos)

    def index(h: Howto | None) -> int:
        if h is None:
            return -1
        n = first.get(h)
        return n if n is not None else howtos.index(h)  # not in the table: ValueError

    return (np.array([index(h.direct) for h in howtos], dtype=np.int64),
            np.array([index(h.branch or h.direct) for h in howtos], dtype=np.int64))


def relax_got_loads(symtab: SymbolTable, preemptible: np.ndarray) -> int:
    """Rewrite every relaxable GOT load of a link-time-known symbol; returns how many."""
    known = np.array([_link_time_address(s) for s in symtab.symbols], dtype=bool)
    known &= ~preemptible[:len(known)]
    # The candidates (a direct form, room for the opcode, a link-time-known target), asked
    # of every row of the link at once; then one Python step per candidate, with ints.
    view = allocated_relocations(symtab, with_data=True)
    direct = view.by_howto(lambda howtos: _forms(howtos)[0])
    local_known = (joined_symbol_column(symtab.objects, "section") >= 0) \
        & (joined_symbol_column(symtab.objects, "type") != TYPE_IFUNC)
    target_known = np.where(view.gid >= 0, known[np.maximum(view.gid, 0)],
                            local_known[view.local])
    picked = np.flatnonzero((direct >= 0) & (view.rows["offset"] >= 2) & target_known)
    if not len(picked):
        return 0
    branch = view.by_howto(lambda howtos: _forms(howtos)[1])
    section_of = view.section_of[picked]
    starts = np.searchsorted(view.section_of, np.arange(len(view.sections)))
    count = 0
    groups = np.flatnonzero(np.diff(section_of, prepend=-1)).tolist() + [len(picked)]
    for first, end in itertools.pairwise(groups):
        n = int(section_of[first])
        number, sec = view.sections[n]
        rows = picked[first:end]
        count += _relax_section(arch_of(symtab.objects[number].arch).got_pc_relative, sec,
                                (rows - starts[n]).tolist(), view.rows["offset"][rows].tolist(),
                                direct[rows].tolist(), branch[rows].tolist())
    return count


@per_howto_table
def _forms(howtos: Sequence[Howto]) -> tuple[np.ndarray, np.ndarray]:
    """direct_array, with -1 everywhere for a table without direct forms (read-only:
    shared by every link of the process)."""
    forms = direct_array(list(howtos))
    if forms is None:
        none = np.full(len(howtos), -1, dtype=np.int64)
        forms = none, none
    for array in forms:
        array.flags.writeable = False
    return forms


def _link_time_address(sym: GlobalSymbol) -> bool:
    """Defined in the output at a place in the image (not absolute, not an IFUNC)."""
    if sym.linker_defined:
        return True
    if sym.file is None or sym.type == SymType.IFUNC:
        return False
    return sym.common or sym.section is not None


def _relax_section(pc_relative: bool, sec: InputSection, candidates: list[int], offsets: list[int],
                   direct: list[int], branch: list[int]) -> int:
    """Rewrite the candidate rows (indices into the section's table, with their offsets
    and relaxed forms) whose instruction allows it."""
    assert sec.data is not None
    code = bytearray(sec.data)
    done: list[int] = []
    new_howto: list[int] = []
    moved: list[int] = []  # rows whose field starts one byte earlier (jmp)
    branched: list[int] = []  # rows now a call or jmp
    for r, at, choice, branch_form in zip(candidates, offsets, direct, branch):
        opcode, modrm = code[at - 2], code[at - 1]
        if pc_relative and (modrm & _MOD_RM_MASK) != _RIP_RELATIVE:
            continue
        if not pc_relative and ((modrm & _MOD_MASK) != _MOD_DISP32 or modrm & 7 == _SIB):
            continue
        # the ModRM's reg field: /2 is call, /4 jmp (x86-64: rip-relative; i386: a base)
        operation = (modrm >> 3) & 7 if opcode == _INDIRECT else None
        if opcode == _MOV:
            code[at - 2] = _LEA
            new_howto.append(choice)
        elif operation in (_CALL, _JMP) and at + 4 <= len(code):
            if operation == _CALL:
                code[at - 2:at] = bytes([_ADDR32, _CALL_REL32])
            else:
                code[at - 2] = _JMP_REL32
                code[at - 1:at + 3] = code[at:at + 4]
                code[at + 3] = _NOP
                moved.append(r)
            branched.append(r)
            new_howto.append(branch_form)
        else:
            continue
        done.append(r)
    if done:
        rows = sec.relocs.rows
        rows["howto"][done] = new_howto
        if moved:
            rows["offset"][moved] -= 1  # the rel32 now starts one byte earlier
        if not pc_relative and branched:  # G + A - GOT had the field's start as its reference
            rows["addend"][branched] -= 4
        sec.data = bytes(code)
    return len(done)
