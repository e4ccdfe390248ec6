"""The output and the inputs together: what the checker learns once and reuses.

Where each input section went (cached), the PLT entries decoded from the output, the COMDAT
groups the linker must have dropped, and the GOT base currently being tried.
"""

from __future__ import annotations

import json
import os
from collections import Counter

from .image import OutputImage
from .inputs import InputObject
from .placement import Placement, place_section
from .plt import plt_entries


class Linked:
    """The output plus everything learned about where the inputs went (cached per section)."""

    def __init__(self, image: OutputImage, objects: list[InputObject],
                 hints: dict[tuple[str, int], int]) -> None:
        self.image = image
        self.got: int | None = image.got_base
        self.objects = objects
        self.hints = hints
        self.plt = plt_entries(image)
        self.discarded = _comdat_losers(objects)
        self.ordinals = _file_ordinals(objects)
        self._placements: dict[tuple[int, int], Placement] = {}

    def placement(self, obj: InputObject, index: int) -> Placement:
        key = (id(obj), index)
        if key not in self._placements:
            hint = self.hints.get((os.path.abspath(obj.path), index))
            self._placements[key] = place_section(
                self.image, obj, obj.sections[index], self.ordinals[id(obj)], hint)
        return self._placements[key]

    def place(self, obj: InputObject, index: int) -> tuple[int, ...] | None:
        if (id(obj), index) in self.discarded:
            return None
        return self.placement(obj, index).candidates


def _comdat_losers(objects: list[InputObject]) -> set[tuple[int, int]]:
    """Sections of a COMDAT group whose signature an earlier input already provided."""
    seen: set[str] = set()
    losers: set[tuple[int, int]] = set()
    for obj in objects:
        for signature, members in obj.comdat:
            if signature in seen:
                losers.update((id(obj), m) for m in members)
            seen.add(signature)
    return losers


def _file_ordinals(objects: list[InputObject]) -> dict[int, int]:
    """How many earlier inputs carry the same STT_FILE name (to pick the right locals)."""
    counts: Counter[str | None] = Counter()
    ordinals: dict[int, int] = {}
    for obj in objects:
        ordinals[id(obj)] = counts[obj.file_name]
        counts[obj.file_name] += 1
    return ordinals


def read_hints(link_map: str | None) -> dict[tuple[str, int], int]:
    if link_map is None:
        return {}
    with open(link_map) as f:
        data = json.load(f)
    return {(os.path.abspath(s["file"]), int(s["index"])): int(s["address"])
            for s in data.get("sections", []) if "index" in s and "file" in s}
