"""The Mach-O harness's own power: seed bugs into the Mach-O linker, one at a time, and require
the Mach-O fuzz judges to catch every one.

The pipeline is the Mach-O properties' (fuzz/macho/pipeline.py): our MH_OBJECT writer, then
linkharness in modern (dyld info) and classic (LC_DYSYMTAB relocations) mode, each output
judged by `fuzz.macho.judge.everything` (oracle.check, the field oracle with its slide
requirement, the emulated dyld lazy and now, MH_PIE slid, against the model).  The inputs are the Mach-O every-flavour
sample first (pointers to imports with addends, a pointer to local data, three pages of
__bss), so a kill does not hinge on what Hypothesis draws, then a few drawn cases.  A mutant
is killed by the first output that exposes it; the kill table is printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from fuzz.macho import judge, judge_tables, pipeline
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.strategies import MachoCase, macho_cases
from fuzz.macho.tbd import write_tbds
from fuzz.model import (
    AddrVia,
    Binding,
    DataItem,
    Function,
    Load,
    ObjectModel,
    Program,
    Ref,
    Section,
    SectionKind,
    SelfRel,
)
from fuzz.power import Mutants, collect, first_exposure, print_kill_table, seed_each
from fuzz.semantics import outcome
from linker import linkmap as linkmap_module
from linker import textmap as textmap_module
from linker.macho import link as macho_link
from linker.macho import read as macho_read
from linker.macho import rebases as macho_rebases
from linker.macho import relocs_x86_64 as macho_relocs
from linker.macho.classic_relocs import DyldReloc
from linker.macho.dyldinfo import BindEntry
from linker.model import SectionFlags

DRAWN_EXAMPLES = 6

MUTANTS = Mutants()
mutant = MUTANTS


def _edit_relocations(mp: pytest.MonkeyPatch, extern: bool,
                      edit: Callable[[list[DyldReloc]], list[DyldReloc]]) -> None:
    original = macho_link.encode

    def encode(entries: list[DyldReloc], **kw: Any) -> bytes:
        return original(edit(list(entries)) if kw["extern"] == extern else entries, **kw)
    mp.setattr(macho_link, "encode", encode)


@mutant("an external relocation names the wrong symbol (classic)")
def _extrel_symbol(mp: pytest.MonkeyPatch) -> None:
    def rotate(entries: list[DyldReloc]) -> list[DyldReloc]:
        names = [e.symbolnum for e in entries]
        return [DyldReloc(e.address, n) for e, n in zip(entries, names[1:] + names[:1])]
    _edit_relocations(mp, True, rotate)


@mutant("a local relocation is missing (classic)")
def _locrel_missing(mp: pytest.MonkeyPatch) -> None:
    original = macho_link._classic_relocations

    def relocations(scan, layout, plans, index_of, outs, slid, *rest) -> None:
        original(scan, layout, plans, index_of, outs, slid[:-1], *rest)
    mp.setattr(macho_link, "_classic_relocations", relocations)


@mutant("an external relocation loses its addend (classic)")
def _extrel_addend(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.MachoParts.write

    def write(self, image):
        layout = self.layout
        for site in self.scan_result.dynamic_words if self.opts.classic else []:
            # the word dyld adds the symbol to: 0, not A
            seg = next(s for s in layout.segments if s.addr <= layout.address_of(site.section)
                       < s.addr + s.memsz)
            at = seg.file_offset + layout.address_of(site.section) + site.offset - seg.addr
            image[at:at + 8] = bytes(8)
        return original(self, image)
    mp.setattr(macho_link.MachoParts, "write", write)


@mutant("a bind opcode loses its addend (modern)")
def _bind_addend(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.bind_opcodes
    mp.setattr(macho_link, "bind_opcodes", lambda entries: original(
        [dataclasses.replace(e, addend=0) for e in entries]))


@mutant("a bind names library ordinal 0, SELF (modern)")
def _bind_self(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.bind_opcodes

    def bind_opcodes(entries: list[BindEntry]) -> bytes:
        return original([dataclasses.replace(e, ordinal=0) if e.name.startswith("_lt")
                         else e for e in entries])
    mp.setattr(macho_link, "bind_opcodes", bind_opcodes)


@mutant("a rebase of a pointer to local data is missing (modern)")
def _rebase_data(mp: pytest.MonkeyPatch) -> None:
    original = macho_rebases._moves

    def moves(symtab, t, gids, symbol) -> bool:
        gid = int(gids[symbol])
        if gid >= 0:
            sec = symtab.symbols[gid].section
            if sec is not None and SectionFlags.EXEC not in sec.flags:
                return False  # "data does not move"
        return bool(original(symtab, t, gids, symbol))
    mp.setattr(macho_rebases, "_moves", moves)


@mutant("each stub-helper entry pushes the next import's lazy-bind offset (the records "
        "completed off by one)")
def _helper_push_next(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.set_lazy_bind_offsets

    def set_lazy_bind_offsets(synthetic, scan, starts):
        return original(synthetic, scan, starts[1:] + starts[:1])
    mp.setattr(macho_link, "set_lazy_bind_offsets", set_lazy_bind_offsets)


@mutant("-s keeps every definition in the symbol table (strip ignored)")
def _strip_ignored(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.symbol_table

    def symbol_table(symtab, syms, outs, ordinal, plan, base, nlist, exported, strip, *rest):
        return original(symtab, syms, outs, ordinal, plan, base, nlist, exported, False, *rest)
    mp.setattr(macho_link, "symbol_table", symbol_table)


@mutant("-s also drops the imports' entries, which the indirect table names")
def _strip_imports(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.symbol_table

    def symbol_table(symtab, syms, outs, ordinal, plan, base, nlist, exported, strip, *rest):
        exports, index_of = original(symtab, syms, outs, ordinal, plan, base, nlist, exported,
                                     strip, *rest)
        if strip:
            plan.nsyms = plan.nundef = plan.iundef = 0
            plan.symbols = b""
        return exports, index_of
    mp.setattr(macho_link, "symbol_table", symbol_table)


@mutant("-x keeps the hidden definitions (discard ignored)")
def _discard_ignored(mp: pytest.MonkeyPatch) -> None:
    original: Callable[..., Any] = macho_link.symbol_table

    def symbol_table(*args: Any) -> Any:
        return original(*args[:-1], False)  # discard_locals is the last argument
    mp.setattr(macho_link, "symbol_table", symbol_table)


@mutant("the JSON map gives output sections their file offsets as addresses")
def _map_offsets(mp: pytest.MonkeyPatch) -> None:
    original = linkmap_module.build_link_map

    def build_link_map(linked, symtab):
        data = original(linked, symtab)
        for o in data["output_sections"]:
            o["address"] = o["file_offset"]
        return data
    mp.setattr(linkmap_module, "build_link_map", build_link_map)


@mutant("the JSON map gives each symbol its stub's address (plt for address)")
def _map_symbol_stub(mp: pytest.MonkeyPatch) -> None:
    original = linkmap_module.build_link_map

    def build_link_map(linked, symtab):
        data = original(linked, symtab)
        for s in data["symbols"]:
            s["address"] = s["plt"] or s["got"] or s["address"] + 1
        return data
    mp.setattr(linkmap_module, "build_link_map", build_link_map)


@mutant("the text map (-Map) leaves out the last output section")
def _text_map_short(mp: pytest.MonkeyPatch) -> None:
    original = textmap_module.render_text_map

    def render_text_map(linked, *rest):
        return original(dataclasses.replace(linked, sections=linked.sections[:-1]), *rest)
    mp.setattr(textmap_module, "render_text_map", render_text_map)


@mutant("zero-fill written into the file")
def _zero_fill(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.serialize

    def serialize(image, plans, headers, linkedit, linkedit_offset, *rest) -> bytes:
        # the next file offset rounded past the last segment's memory, zero-fill included
        last = plans[-1]
        past_memory = (last.fileoff + last.vmsize + 0xFFF) & -0x1000
        return original(image, plans, headers, linkedit, max(linkedit_offset, past_memory),
                        *rest)
    mp.setattr(macho_link, "serialize", serialize)


@mutant("a non-extern relocation's target found by address, not by its section (reader)")
def _non_extern_by_address(mp: pytest.MonkeyPatch) -> None:
    """The reader's old mistake: a field holding `section address - 10` (a SUBTRACTOR pair's
    minuend with a negative constant) taken as a place in the section before."""
    original = macho_read._non_extern

    def non_extern(r, obj, sec, headers, ordinal, rtype, pcrel, address, inplace, nsyms):
        target = headers[sec.index - 1].addr + address + 4 \
            + macho_relocs.TRAILING.get(rtype, 0) + inplace if pcrel else inplace
        named = headers[ordinal - 1]
        if not named.addr <= target <= named.addr + named.size:
            ordinal = next((n for n, h in enumerate(headers, 1)
                            if h.addr <= target < h.addr + h.size), ordinal)
        return original(r, obj, sec, headers, ordinal, rtype, pcrel, address, inplace, nsyms)
    mp.setattr(macho_read, "_non_extern", non_extern)


# The fuzzers' shrunk find: a static datum first in __data holding SelfRel(4, -10), which our
# writer (variant 1) emits as SUBTRACTOR + non-extern UNSIGNED against __data whose field,
# __data's address - 10, lies in __text.
NONEXTERN_PAIR = MachoCase(Program(
    objects=(ObjectModel("o0", (Section(".text", SectionKind.TEXT, 16),
                                Section(".data", SectionKind.DATA, 8)),
                         functions=(Function("lh_main", Binding.GLOBAL, ".text", 16, 1,
                                             (Load("lh_w1", 0, AddrVia.PC_REL),)),),
                         data=(DataItem("lh_w1", Binding.LOCAL, ".data", 4,
                                        (SelfRel(4, -10),)),)),),
    libraries=()), 1)


@dataclasses.dataclass(frozen=True)
class Built:
    root: Path
    cases: list[tuple[MachoCase, list[Path], list[Path]]]  # case, objects, tbd stubs


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("power-macho")
    cases = []
    for n, case in enumerate([MachoCase(MACHO_SAMPLE, 0), NONEXTERN_PAIR,
                                  *collect(macho_cases(), DRAWN_EXAMPLES)]):
        objs = pipeline.write_objects(case.program, root / f"c{n}", case.variant)
        cases.append((case, objs, write_tbds(root / f"s{n}", case.program.libraries)))
    return Built(root, cases)


# modern builds with a JSON map and each symbol-table option, as the property draws them
TABLE_BUILDS = {"modern": "full", "modern -s": "strip", "modern -x": "discard"}


def _exposed(built: Built) -> str | None:
    """What exposes the current linker, or None when every check passes."""
    return first_exposure((f"case {n} {mode}", partial(_judged, built, n, mode))
                          for n in range(len(built.cases))
                          for mode in (*TABLE_BUILDS, "classic"))


def _judged(built: Built, n: int, mode: str) -> list[str]:
    case, objs, stubs = built.cases[n]
    exe = built.root / f"out{n}-{mode.replace(' ', '')}"
    expected = outcome(case.program)
    if mode == "classic":
        pipeline.link_linkharness(objs, stubs, exe, classic=True)
        return judge.everything(exe, objs, case.program, expected)
    tables, map_file = TABLE_BUILDS[mode], exe.with_suffix(".map.json")
    text = exe.with_suffix(".map.txt")
    pipeline.link_linkharness(objs, stubs, exe, tables=tables, map_file=map_file,
                              text_map=text)
    return [*judge.everything(exe, objs, case.program, expected, tables),
            *judge_tables.symbol_table(exe, objs, tables), *judge_tables.link_map(map_file, exe),
            *judge_tables.text_map(text, exe)]


def test_unmutated_linker_passes(built: Built) -> None:
    assert _exposed(built) is None


def test_seeded_bugs_are_caught(built: Built) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(built), crash_kills=True)
    killed = print_kill_table("Mach-O harness power", results, width=110)
    assert killed == len(MUTANTS), results


def test_the_sample_carries_what_the_mutants_touch() -> None:
    """Pointers to imports with an addend, a pointer to local data, more than a page of
    zero-fill: without them some mutants could pass unseen."""
    fields = [(f.target, f.addend) for o in MACHO_SAMPLE.objects for d in o.data
              for f in d.fields if isinstance(f, Ref)]
    assert {("lt1_d1", 4), ("lh_v3", 8), ("lt1_f0_a0", 0)} <= set(fields)
    bss = [d for o in MACHO_SAMPLE.objects for d in o.data if d.section == ".bss"]
    assert max(d.size for d in bss) > 0x1000
