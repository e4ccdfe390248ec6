"""The Mach-O i386 fuzz judges' power: seed bugs into the linker's macho-i386 path, one at a
time, and require the fuzz pipeline to catch every one.

The pipeline is the Mach-O i386 properties' (fuzz/macho/pipeline_i386.py): our MH_OBJECT
i386 writer, then linkharness in its three shapes (modern 10.6 with LC_UNIXTHREAD, modern
10.9 with LC_MAIN, classic), each output judged by `fuzz.macho.judge_i386.everything`
(oracle.check, the field oracle, the emulated i386 dyld lazy and now, against the model).
The inputs are the Mach-O i386 every-flavour sample in its three assembler variants first
(every GENERIC form: plain, scattered and extern VANILLA, pc-relative VANILLA of 1, 2 and 4
bytes, SECTDIFF and LOCAL_SECTDIFF pairs, non-lazy pointer slots), so a kill does not hinge
on what Hypothesis draws, then a few drawn cases.  A mutant is killed by the first output
that exposes it (a refused valid link counts); the kill table is printed.
(tests/oracle/macho/test_i386_seeded_bugs.py seeds bugs against hand-made cases; these
must be caught by the fuzz pipeline.)
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fuzz.macho import judge_i386, judge_tables
from fuzz.macho import pipeline_i386 as pipeline
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE, SAMPLE_VARIANTS
from fuzz.macho.strategies_i386 import MachoI386Case, macho_i386_cases
from fuzz.macho.tbd import write_tbds
from fuzz.power import Mutants, collect, first_exposure, print_kill_table, seed_each
from fuzz.semantics import outcome
from linker.arch import MACHO_STUB_TEMPLATES
from linker.macho import link as macho_link
from linker.macho import read_generic
from linker.macho import relocs_i386 as generic

DRAWN_EXAMPLES = 4
SCATTERED = 0x80000000

MUTANTS = Mutants()
mutant = MUTANTS


def _entries(file: memoryview, reloff: int, nreloc: int) -> list[tuple[int, int]]:
    return [struct.unpack_from("<II", file, reloff + 8 * n) for n in range(nreloc)]


def _with_entries(file: memoryview, reloff: int, entries: list[tuple[int, int]]) -> memoryview:
    copy = bytearray(file)
    for n, (w0, w1) in enumerate(entries):
        struct.pack_into("<II", copy, reloff + 8 * n, w0, w1)
    return memoryview(bytes(copy))


@mutant("a SECTDIFF's subtrahend ignored (the PAIR read as the minuend's address)")
def _sectdiff_subtrahend(mp: pytest.MonkeyPatch) -> None:
    original = read_generic.relocations

    def relocations(fail: Any, file: memoryview, obj: Any, sec: Any, headers: Any,
                    reloff: int, nreloc: int, *rest: Any, **kw: Any) -> Any:
        entries = _entries(file, reloff, nreloc)
        for n in range(1, len(entries)):
            if entries[n][0] & SCATTERED and (entries[n][0] >> 24) & 0xF == generic.PAIR:
                entries[n] = (entries[n][0], entries[n - 1][1])
        return original(fail, _with_entries(file, reloff, entries), obj, sec, headers,
                        reloff, nreloc, *rest, **kw)
    mp.setattr(read_generic, "relocations", relocations)


@mutant("a scattered VANILLA's offset dropped (the target taken from r_value alone)")
def _scattered_offset(mp: pytest.MonkeyPatch) -> None:
    original = read_generic.relocations

    def relocations(fail: Any, file: memoryview, obj: Any, sec: Any, headers: Any,
                    reloff: int, nreloc: int, *rest: Any, **kw: Any) -> Any:
        data = bytearray(sec.data) if sec.data is not None else None
        previous_was_difference = False
        for w0, w1 in _entries(file, reloff, nreloc):
            kind = (w0 >> 24) & 0xF
            if w0 & SCATTERED and kind == generic.VANILLA and not previous_was_difference \
                    and (w0 >> 28) & 3 == 2 and data is not None:
                struct.pack_into("<I", data, w0 & 0xFFFFFF, w1)
            previous_was_difference = bool(w0 & SCATTERED) and kind in generic.DIFFERENCES
        if data is not None:
            sec.data = bytes(data)
        return original(fail, file, obj, sec, headers, reloff, nreloc, *rest, **kw)
    mp.setattr(read_generic, "relocations", relocations)


@mutant("a pc-relative VANILLA's addend off by 4")
def _pcrel_addend(mp: pytest.MonkeyPatch) -> None:
    original = read_generic.relocations
    pcrel = generic.HOWTO_INDEX[(generic.VANILLA, 1, 2)]

    def relocations(*args: Any, **kw: Any) -> Any:
        table = original(*args, **kw)
        rows = table.rows.copy()
        rows["addend"] = np.where(rows["howto"] == pcrel, rows["addend"] + 4, rows["addend"])
        return dataclasses.replace(table, rows=rows)
    mp.setattr(read_generic, "relocations", relocations)


@mutant("an object's __pointers slot bound to the next slot's symbol")
def _pointer_slot(mp: pytest.MonkeyPatch) -> None:
    original = read_generic._pointers

    def pointers(fail: Any, obj: Any, sec: Any, names: list[int], *rest: Any) -> None:
        original(fail, obj, sec, names[1:] + names[:1], *rest)
    mp.setattr(read_generic, "_pointers", pointers)


@mutant("an object's __jump_table entry jumps to the next entry's symbol")
def _jump_table_entry(mp: pytest.MonkeyPatch) -> None:
    original = read_generic._jump_table

    def jump_table(fail: Any, obj: Any, sec: Any, names: list[int], *rest: Any) -> None:
        original(fail, obj, sec, names[1:] + names[:1], *rest)
    mp.setattr(read_generic, "_jump_table", jump_table)


@mutant("an i386 stub jumps through the next lazy pointer")
def _stub_next_slot(mp: pytest.MonkeyPatch) -> None:
    t = MACHO_STUB_TEMPLATES["i386"]
    mp.setitem(MACHO_STUB_TEMPLATES, "i386", dataclasses.replace(
        t, stub_field=dataclasses.replace(t.stub_field, addend=t.stub_field.addend + 4)))


@mutant("the indirect symbol table off by one")
def _indirect_off_by_one(mp: pytest.MonkeyPatch) -> None:
    original = macho_link._section_headers

    def section_headers(outs: Any, synthetic: Any, scan: Any, index_of: Any, plan: Any,
                        *rest: Any, **kw: Any) -> Any:
        headers = original(outs, synthetic, scan, index_of, plan, *rest, **kw)
        entries = list(struct.unpack(f"<{plan.nindirect}I", plan.indirect))
        plan.indirect = struct.pack(f"<{len(entries)}I", *(entries[1:] + entries[:1]))
        return headers
    mp.setattr(macho_link, "_section_headers", section_headers)


@dataclasses.dataclass(frozen=True)
class Built:
    root: Path
    cases: list[tuple[MachoI386Case, list[Path], list[Path]]]  # case, objects, tbd stubs


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("power-macho-i386")
    samples = [MachoI386Case(MACHO_I386_SAMPLE, v) for v in SAMPLE_VARIANTS]
    cases = []
    for n, case in enumerate([*samples, *collect(macho_i386_cases(), DRAWN_EXAMPLES)]):
        objs = pipeline.write_objects(case.program, root / f"c{n}", case.variant)
        cases.append((case, objs, write_tbds(root / f"s{n}", case.program.libraries)))
    return Built(root, cases)


# modern builds with a JSON map and a symbol-table option, as the property draws them
TABLE_BUILDS = {"modern-10.9 -s": "strip", "modern-10.9 -x": "discard"}


def _exposed(built: Built) -> str | None:
    """What exposes the current linker, or None when every check passes."""
    return first_exposure((f"case {n} {mode}", partial(_judged, built, n, mode))
                          for n in range(len(built.cases))
                          for mode in (*pipeline.MODES, *TABLE_BUILDS))


def _judged(built: Built, n: int, mode: str) -> list[str]:
    case, objs, stubs = built.cases[n]
    exe = built.root / f"out{n}-{mode.replace(' ', '')}"
    exit_call = pipeline.exits_through_libsystem(case.variant)
    if mode in pipeline.MODES:
        pipeline.link_linkharness(objs, stubs, exe, mode)
        return judge_i386.everything(exe, objs, case.program, outcome(case.program), exit_call)
    tables, map_file = TABLE_BUILDS[mode], exe.with_suffix(".map.json")
    text = exe.with_suffix(".map.txt")
    pipeline.link_linkharness(objs, stubs, exe, mode.split()[0], tables, map_file, text)
    return [*judge_i386.everything(exe, objs, case.program, outcome(case.program), exit_call,
                                   tables),
            *judge_tables.symbol_table(exe, objs, tables), *judge_tables.link_map(map_file, exe),
            *judge_tables.text_map(text, exe)]


@mutant("i386: each stub-helper entry pushes the next import's lazy-bind offset")
def _helper_push_next(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.set_lazy_bind_offsets

    def set_lazy_bind_offsets(synthetic, scan, starts):
        return original(synthetic, scan, starts[1:] + starts[:1])
    mp.setattr(macho_link, "set_lazy_bind_offsets", set_lazy_bind_offsets)


@mutant("i386: -x keeps the hidden definitions (discard ignored)")
def _discard_ignored(mp: pytest.MonkeyPatch) -> None:
    original: Callable[..., Any] = macho_link.symbol_table

    def symbol_table(*args: Any) -> Any:
        return original(*args[:-1], False)  # discard_locals is the last argument
    mp.setattr(macho_link, "symbol_table", symbol_table)


@mutant("i386: -s keeps every definition in the symbol table (strip ignored)")
def _strip_ignored(mp: pytest.MonkeyPatch) -> None:
    original: Callable[..., Any] = macho_link.symbol_table

    def symbol_table(*args: Any) -> Any:
        return original(*args[:8], False, *args[9:])  # strip is the ninth argument
    mp.setattr(macho_link, "symbol_table", symbol_table)


def test_unmutated_linker_passes(built: Built) -> None:
    assert _exposed(built) is None


def test_seeded_bugs_are_caught(built: Built) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(built), crash_kills=True)
    killed = print_kill_table("Mach-O i386 harness power", results, width=110)
    assert killed == len(MUTANTS), results


def test_the_sample_carries_what_the_mutants_touch(built: Built) -> None:
    """Scattered VANILLA, SECTDIFF pairs, pc-relative VANILLA entries, non-lazy pointer
    slots, jump tables and calls to imports (stubs) in the sample's objects: without them some mutants
    could pass unseen."""
    kinds: set[str] = set()
    for _, objs, _ in built.cases[:len(SAMPLE_VARIANTS)]:
        for path in objs:
            kinds |= _relocation_kinds(path.read_bytes())
    assert {"scattered VANILLA", "SECTDIFF", "LOCAL_SECTDIFF", "pcrel VANILLA",
            "indirect", "jump table"} <= kinds, kinds


def _relocation_kinds(data: bytes) -> set[str]:
    """What the object's relocation entries and indirect table hold, read from the file."""
    ncmds, = struct.unpack_from("<I", data, 16)
    at, kinds = 28, set()
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        if cmd == 0x1:  # LC_SEGMENT: 68-byte sections after 56 bytes
            nsects, = struct.unpack_from("<I", data, at + 48)
            for s in range(nsects):
                reloff, nreloc, flags = struct.unpack_from("<III", data, at + 56 + 68 * s + 48)
                if flags & 0xFF == 0x8:  # S_SYMBOL_STUBS
                    kinds.add("jump table")
                for w0, w1 in (struct.unpack_from("<II", data, reloff + 8 * k)
                               for k in range(nreloc)):
                    kind = (w0 >> 24) & 0xF if w0 & SCATTERED else w1 >> 28
                    if kind in generic.DIFFERENCES:
                        kinds.add(generic.NAMES[kind].removeprefix("GENERIC_RELOC_"))
                    elif kind == generic.VANILLA and w0 & SCATTERED:
                        kinds.add("scattered VANILLA")
                    elif kind == generic.VANILLA and (w1 >> 24) & 1:
                        kinds.add("pcrel VANILLA")
        elif cmd == 0xB and struct.unpack_from("<I", data, at + 60)[0]:  # nindirectsyms
            kinds.add("indirect")
        at += size
    return kinds
