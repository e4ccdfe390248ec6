"""`.note.GNU-stack`: GNU ld's warning for an object that asks for an executable stack,
or says nothing (then the stack is executable)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import warn
from ..model import ObjectFile


def warn_executable_stack(objects: Sequence[ObjectFile]) -> None:
    """GNU ld's warning (2.39 on), word for word after the file, as build logs are grepped
    for it: one, naming the last object whose note asks for an executable stack, else the
    last object without a note; nothing when no object has a note (GNU ld then writes no
    PT_GNU_STACK and says nothing)."""
    asking = [obj for obj in objects if obj.exec_stack]
    silent = [obj for obj in objects if obj.exec_stack is None]
    if len(silent) == len(objects):
        return
    if asking:
        warn("requires executable stack (because the .note.GNU-stack section is "
             "executable)", file=asking[-1].path)
    elif silent:
        warn("missing .note.GNU-stack section implies executable stack", file=silent[-1].path)
