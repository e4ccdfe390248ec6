"""The part of the program model Mach-O i386 can express, as a mapping of any model into it.

i386 Mach-O keeps more of the model than x86-64 Mach-O: the image sits below 4 GiB, so
absolute addressing in code stays (VANILLA entries), 1-, 2- and 4-byte absolute fields stay,
pc-relative data of every width stays (a difference pair or a pc-relative VANILLA).  What it
lacks: COPY relocations and the GOT, and COMDAT groups.  So:

- imported data is always reached through a non-lazy pointer (AddrVia.GOT), never copied;
- GOT-base addressing (GOTOFF) becomes pc-relative (a difference from the pic base);
- a COMDAT function becomes a weak definition in every object that carried a copy.

8-byte fields are split into words by the lowering (fuzz.lower_i386's rule), and the choice
between a difference and a non-lazy pointer for one reference is the lowering's
(fuzz.macho.lower_i386); neither changes what the program does.  The mapped program is
still a `fuzz.model.Program`: `fuzz.semantics.outcome` predicts it.
"""

from __future__ import annotations

from .. import libtrace
from ..model import AddrVia, Program
from .subset import map_program


def _via(target: str, via: AddrVia) -> AddrVia:
    if target in libtrace.IMPORTS:
        return AddrVia.GOT
    return AddrVia.PC_REL if via is AddrVia.GOT_BASE else via


def macho_i386_subset(program: Program) -> Program:
    """`program` with every reference made in a way Mach-O i386 can express."""
    return map_program(program, _via)
