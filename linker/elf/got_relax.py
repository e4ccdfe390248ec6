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
from ..model import TYPE_IFUNC, InputSection, SectionFlags, SymType
from ..reloc_view import RelocView, allocated_relocations
from ..resolve import SymbolTable
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


def relax_got_loads(symtab: SymbolTable, preemptible: np.ndarray) -> RelocView | None:
    """Rewrite every relaxable GOT load of a link-time-known symbol.  Returns the view of
    every allocated relocation with the rewrites made in it too, for scan to ask its own
    questions of (None when the rewrites went one section at a time)."""
    symbols = symtab.symbols
    # Defined in the output at a place in the image (not absolute, not an IFUNC).
    known = np.array([s.linker_defined or (s.file is not None and s.type != SymType.IFUNC
                                           and (s.common or s.section is not None))
                      for s in symbols], dtype=bool)
    known &= ~preemptible[:len(known)]
    # The candidates (a direct form, room for the opcode, a link-time-known target), asked
    # of every row of the link at once, and the instruction bytes of all of them read and
    # judged at once too; Python steps only per section that changes.
    view = allocated_relocations(symtab)
    direct = view.by_howto(lambda howtos: _forms(howtos)[0])
    local_known = (view.symbol_column(symtab.objects, "section") >= 0) \
        & (view.symbol_column(symtab.objects, "type") != TYPE_IFUNC)
    target_known = np.where(view.gid >= 0, known[np.maximum(view.gid, 0)],
                            local_known[view.local])
    candidate = (direct >= 0) & (view.rows["offset"] >= 2) & target_known
    if candidate.any() and _may_exceed_rel32(symtab):
        # A relaxed load reaches its target with a 32-bit displacement; in an image that
        # may span 2 GiB some target may be out of that reach, which is known only after
        # layout, so every load keeps its GOT slot (GNU ld keeps it for the far ones).
        return view
    if candidate.any():  # a section without bytes (a broken input) has no instructions
        candidate &= view.has_data()
    picked = np.flatnonzero(candidate)
    if not len(picked):
        return view
    branch = view.by_howto(lambda howtos: _forms(howtos)[1])
    section_of = view.section_of[picked]
    starts = view.first_rows()
    groups = np.flatnonzero(np.diff(section_of, prepend=-1)).tolist() + [len(picked)]
    holding = [view.sections[n] for n in section_of[groups[:-1]].tolist()]
    pc_relative = [arch_of(symtab.objects[number].arch).got_pc_relative
                   for number, _sec in holding]
    sections = [sec for _number, sec in holding]
    offsets = view.rows["offset"][picked]
    if _windows_overlap(section_of, offsets):
        # two candidates whose rewrites could touch each other's bytes (only a broken or
        # hostile input has them): the rewrites must happen one after another, as written
        for (first, end), rel, sec in zip(itertools.pairwise(groups), pc_relative, sections):
            n = int(section_of[first])
            rows = picked[first:end]
            _relax_section(rel, sec, (rows - starts[n]).tolist(), offsets[first:end].tolist(),
                           direct[rows].tolist(), branch[rows].tolist())
        return None
    done, moved, branched, new_howto = _relax_all(
        sections, groups, pc_relative, picked - starts[section_of], offsets, direct[picked],
        branch[picked])
    # the same edits in the view's copy of the rows
    rows = picked[done]
    view.rows["howto"][rows] = new_howto
    view.rows["offset"][rows[moved]] -= 1
    per_section: np.ndarray = np.diff(np.array(groups, dtype=np.int64))
    narrow = ~np.repeat(np.array(pc_relative, dtype=bool), per_section)[done]
    view.rows["addend"][rows[branched & narrow]] -= 4
    return view


def _windows_overlap(section_of: np.ndarray, offsets: np.ndarray) -> bool:
    """Do two candidates of one section have byte windows (opcode .. end of field, P-2 to
    P+4) that meet?  The rows are in table order, which need not be offset order."""
    same = section_of[1:] == section_of[:-1]
    if not (same & (offsets[1:] - offsets[:-1] < 6)).any():
        return False  # in offset order and apart: the usual table
    order = np.lexsort((offsets, section_of))
    sec, at = section_of[order], offsets[order]
    return bool(((sec[1:] == sec[:-1]) & (at[1:] - at[:-1] < 6)).any())


def _relax_all(sections: list[InputSection], groups: list[int], pc_relative: list[bool],
               rows: np.ndarray, offsets: np.ndarray, direct: np.ndarray,
               branch: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_relax_section` for every candidate at once, when no two candidates' bytes meet
    (so the order of the rewrites does not matter): the candidate sections' bytes joined,
    every opcode and ModRM judged in a few array operations, the rewrites scattered into
    the joined bytes, and each changed section cut back out of them.  Returns which
    candidates were rewritten and, of those, which moved their field one byte down (jmp),
    which became branches, and their new howtos."""
    lengths = [len(sec.data) for sec in sections]  # type: ignore[arg-type]
    code = np.frombuffer(b"".join(sections_data(sections)), dtype=np.uint8).copy()
    counts: np.ndarray = np.diff(np.array(groups, dtype=np.int64))
    section_start = np.cumsum([0, *lengths[:-1]])
    at = offsets + np.repeat(section_start, counts)  # the field's place in `code`
    end = np.repeat(section_start + np.array(lengths, dtype=np.int64), counts)
    opcode, modrm = code[at - 2], code[at - 1]
    pc_rel = np.repeat(np.array(pc_relative, dtype=bool), counts)
    addressing = np.where(pc_rel, (modrm & _MOD_RM_MASK) == _RIP_RELATIVE,
                          ((modrm & _MOD_MASK) == _MOD_DISP32) & ((modrm & 7) != _SIB))
    operation = (modrm >> 3) & 7
    mov = addressing & (opcode == _MOV)
    indirect = addressing & (opcode == _INDIRECT) & (at + 4 <= end)
    call = indirect & (operation == _CALL)
    jmp = indirect & (operation == _JMP)
    done = mov | call | jmp
    code[at[mov] - 2] = _LEA
    code[at[call] - 2] = _ADDR32
    code[at[call] - 1] = _CALL_REL32
    jumps = at[jmp]
    code[jumps - 2] = _JMP_REL32
    for k in range(4):  # the field moves one byte down, a nop after it
        code[jumps - 1 + k] = code[jumps + k]
    code[jumps + 3] = _NOP
    # Per changed section only plain slices: its rows' new howtos, then (rare) the moved
    # and branched rows' fields, and its bytes cut back out of `code`.
    owner = np.repeat(np.arange(len(sections)), counts)[done]
    index, new_howto = rows[done], np.where(mov, direct, branch)[done]
    moved, branched = jmp[done], (call | jmp)[done]
    per_section = np.bincount(owner, minlength=len(sections))
    bounds = np.cumsum([0, *per_section.tolist()]).tolist()
    any_moved = np.bincount(owner[moved], minlength=len(sections)).astype(bool).tolist()
    any_branched = np.bincount(owner[branched], minlength=len(sections)).astype(bool).tolist()
    starts = section_start.tolist()
    for n in np.flatnonzero(per_section).tolist():
        sec, lo, hi = sections[n], bounds[n], bounds[n + 1]
        table = sec.relocs.rows
        table["howto"][index[lo:hi]] = new_howto[lo:hi]
        if any_moved[n]:
            table["offset"][index[lo:hi][moved[lo:hi]]] -= 1  # the rel32 starts a byte earlier
        if any_branched[n] and not pc_relative[n]:
            # G + A - GOT had the field's start as its reference
            table["addend"][index[lo:hi][branched[lo:hi]]] -= 4
        sec.data = code[starts[n]:starts[n] + lengths[n]].tobytes()
    return done, moved, branched, new_howto


def sections_data(sections: Sequence[InputSection]) -> list[bytes | memoryview]:
    """The sections' bytes (every one has some)."""
    out: list[bytes | memoryview] = []
    for sec in sections:
        assert sec.data is not None
        out.append(sec.data)
    return out


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


_REL32_REACH = 1 << 31


def _may_exceed_rel32(symtab: SymbolTable) -> bool:
    """Could the allocated image (sections and COMMON symbols, alignment aside) be larger
    than a signed 32-bit displacement reaches?  Sizes summed as Python ints: a few per
    section, no per-byte work."""
    total = sum(s.size for s in symtab.symbols if s.common and s.file is not None)
    for obj in symtab.objects:
        for sec in obj.sections:
            if sec is not None and sec.file is obj and SectionFlags.ALLOC in sec.flags:
                total += sec.size
        if total >= _REL32_REACH - (1 << 24):  # 16 MiB of slack for what layout adds
            return True
    return total >= _REL32_REACH - (1 << 24)
