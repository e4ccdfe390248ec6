"""SymbolTable.add_objects (a batch) leaves the table exactly as adding the same objects
one at a time does: every symbol's resolution, flags, referrers and ids, the per-object
global ids, discarded COMDAT copies and the diagnostics, in order."""

from __future__ import annotations

import random

import numpy as np

from linker.errors import Diagnostics, collecting
from linker.model import (
    COMMON,
    UNDEF,
    Binding,
    ComdatGroup,
    InputSection,
    ObjectFile,
    SectionFlags,
    SectionRole,
    SymbolTable,
    SymType,
)
from linker.resolve import SymbolTable as Globals

NAMES = [f"s{n}" for n in range(12)] + ["__wrap_s3", "__real_s3"]
GROUPS = ("g1", "g2")


def _object(path: str, rng: random.Random) -> ObjectFile:
    """A random object: .text, two COMDAT members, and globals of every kind."""
    obj = ObjectFile(path, "x86_64", [None], None, ())  # type: ignore[arg-type]
    for n, name in enumerate((".text", *(f".text.{g}" for g in GROUPS))):
        obj.sections.append(InputSection(obj, n + 1, name,
                                         SectionFlags.ALLOC | SectionFlags.EXEC,
                                         SectionRole.NORMAL, 1, 16, bytes(16)))
    obj.groups = [ComdatGroup(g, (n + 2,)) for n, g in enumerate(GROUPS) if rng.random() < .5]
    rows = [("", Binding.LOCAL, UNDEF, 0, 0, SymType.NOTYPE, 0), ("loc", Binding.LOCAL, 1, 4, 0,
                                                                  SymType.FUNC, 0)]
    for name in rng.sample(NAMES, rng.randrange(1, 8)):
        where = rng.choice([UNDEF, UNDEF, 1, 1, 2, 3, COMMON])
        rows.append((name, rng.choice([Binding.GLOBAL, Binding.WEAK]), where,
                     rng.choice([0, 8]), rng.choice([4, 8, 16]),
                     rng.choice([SymType.FUNC, SymType.OBJECT, SymType.TLS]),
                     rng.choice([0, 0, 0, 2, 3])))
    obj.symbols = SymbolTable(
        names=[r[0] for r in rows],
        value=np.array([r[3] if r[2] != COMMON else 8 for r in rows], dtype=np.uint64),
        size=np.array([r[4] for r in rows], dtype=np.uint64),
        section=np.array([r[2] for r in rows], dtype=np.int32),
        binding=np.array([r[1] for r in rows], dtype=np.uint8),
        type=np.array([r[5] for r in rows], dtype=np.uint8),
        visibility=np.array([r[6] for r in rows], dtype=np.uint8),
    )
    return obj


def _state(t: Globals, diagnostics: Diagnostics) -> list[object]:
    # referrers are kept for the symbols that may read them: all but those an object
    # defined strongly (see SymbolTable._add_references)
    symbols = [(s.id, s.name, s.file.path if s.file else None, s.index, s.value, s.size,
                int(s.binding), int(s.type), int(s.visibility), s.common, s.common_align,
                s.absolute, s.referenced, s.strong_ref,
                () if s.file is not None and not s.common and s.binding == Binding.GLOBAL
                else tuple(s.referrers),
                s.section.name if s.section else None) for s in t.symbols]
    return [symbols, [o.path for o in t.objects], [g.tolist() for g in t.gids],
            sorted(t.comdats), t.discarded, [str(d) for d in diagnostics.errors],
            [[s is None for s in o.sections] for o in t.objects]]


def _resolved(seed: int, batch: bool, wrap: bool) -> list[object]:
    rng = random.Random(seed)
    # Some paths repeat (the same file named twice), so referrer lists skip duplicates.
    objects = [_object(f"o{rng.randrange(9)}.o", rng) for _ in range(rng.randrange(2, 9))]
    t = Globals(allow_multiple_definition=rng.random() < .3)
    if wrap:
        t.wrap(["s3"])
    t.intern("s5").referrers.append("-u")
    diagnostics = Diagnostics(error_limit=0)
    with collecting(diagnostics):
        if batch:
            t.add_objects(objects)
        else:
            for obj in objects:
                t.add_object(obj)
    return _state(t, diagnostics)


def test_a_batch_resolves_as_objects_one_at_a_time() -> None:
    for seed in range(300):
        for wrap in (False, True):
            assert _resolved(seed, True, wrap) == _resolved(seed, False, wrap), seed


def test_a_symbol_keeps_its_first_four_distinct_referrers() -> None:
    rng = random.Random(5)
    objects = []
    for path in ("a.o", "a.o", "b.o", "a.o", "c.o", "d.o", "e.o"):
        obj = _object(path, rng)
        obj.symbols.names[-1] = "wanted"
        obj.symbols.section[-1] = UNDEF
        objects.append(obj)
    t = Globals()
    with collecting(Diagnostics(error_limit=0)):  # the random globals may clash
        t.add_objects(objects)
    assert t.by_name["wanted"].referrers == ["a.o", "b.o", "c.o", "d.o"]
