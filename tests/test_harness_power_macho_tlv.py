"""The Mach-O fuzz judges' power over thread-local variables and chained fixups: seed bugs
into the linker's TLV path (x86-64 and i386) and its chained-fixup writer, one at a time,
and require the fuzz pipelines to catch every one.

The pipelines are the properties' own: fuzz/test_macho_tlv.py's (drawn TLV programs through
llvm-mc, linked with opcodes and chained fixups, judged by oracle.check, the field oracle and
the emulated dyld against the model's trace) and fuzz/test_macho_properties.py's modern build
with chained fixups (our MH_OBJECT writer, `fuzz.macho.judge.everything`).  The inputs are
the samples first (TLV: data and bss variables in both objects, a thread on x86-64; Mach-O:
pointers to imports with addends, a pointer to local data), so a kill does not hinge on
what Hypothesis draws, then a few drawn cases.  A mutant is killed by the first output that
exposes it (a refused valid link counts; an exception does not, so that a mutant broken by
a change in the code it patches errors out instead of passing as caught).
"""

from __future__ import annotations

import dataclasses
import itertools
import struct
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fuzz.macho import judge, pipeline
from fuzz.macho import tlv as macho_tlv
from fuzz.macho.samples import MACHO_SAMPLE
from fuzz.macho.strategies import MachoCase, macho_cases
from fuzz.macho.tbd import write_tbds
from fuzz.power import Mutants, collect, first_exposure, print_kill_table, seed_each
from fuzz.semantics import outcome
from fuzz.test_macho_tlv import check_case
from linker.kinds import RelocKind
from linker.macho import chained, sections, tlv
from linker.macho import link as macho_link
from linker.macho.rebases import RebaseSite, pointer_targets

DRAWN_TLV = 2  # per arch
DRAWN_MACHO = 2
MUTANTS = Mutants()
mutant = MUTANTS
BIND = 1 << 63


# --- chained fixups -------------------------------------------------------------------

@mutant("chained fixups: `next` counted in 8-byte strides, not 4", "chained fixups")
def _next_stride(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(chained, "STRIDE", 8)


@mutant("chained fixups: a page's start off by one byte", "chained fixups")
def _page_start(mp: pytest.MonkeyPatch) -> None:
    original = chained._thread_chains

    def thread(image: bytearray, segments: list[chained.ChainSegment], header_addr: int,
               fixups: dict[int, int]) -> dict[int, bytes]:
        records = original(image, segments, header_addr, fixups)
        for index, record in records.items():
            body = bytearray(record)
            # dyld_chained_starts_in_segment: page_count at 20, page_start[] from 22
            for page in range(struct.unpack_from("<H", body, 20)[0]):
                start = struct.unpack_from("<H", body, 22 + 2 * page)[0]
                if start != chained.DYLD_CHAINED_PTR_START_NONE:
                    struct.pack_into("<H", body, 22 + 2 * page, start + 1)
                    break
            records[index] = bytes(body)
        return records
    mp.setattr(chained, "_thread_chains", thread)


@mutant("chained fixups: a chain runs on into the next page, which gets no start",
        "chained fixups")
def _across_pages(mp: pytest.MonkeyPatch) -> None:
    original = chained._thread_chains

    def thread(image: bytearray, segments: list[chained.ChainSegment], header_addr: int,
               fixups: dict[int, int]) -> dict[int, bytes]:
        records = original(image, segments, header_addr, fixups)
        addrs = sorted(fixups)
        for a, b in itertools.pairwise(addrs):
            index, seg = chained._locate(segments, a)
            page = (b - seg.vmaddr) // chained.PAGE_SIZE
            if chained._locate(segments, b)[0] != index \
                    or (a - seg.vmaddr) // chained.PAGE_SIZE == page:
                continue
            at = seg.file_offset + a - seg.vmaddr
            word = int.from_bytes(image[at:at + 8], "little")
            image[at:at + 8] = (word | (b - a) // chained.STRIDE << 51).to_bytes(8, "little")
            body = bytearray(records[index])
            struct.pack_into("<H", body, 22 + 2 * page, chained.DYLD_CHAINED_PTR_START_NONE)
            records[index] = bytes(body)
        return records
    mp.setattr(chained, "_thread_chains", thread)


@mutant("chained fixups: rebase targets written as offsets from the header "
        "(DYLD_CHAINED_PTR_64_OFFSET's form) under DYLD_CHAINED_PTR_64", "chained fixups")
def _rebase_as_offset(mp: pytest.MonkeyPatch) -> None:
    original = chained._thread_chains

    def thread(image: bytearray, segments: list[chained.ChainSegment], header_addr: int,
               fixups: dict[int, int]) -> dict[int, bytes]:
        target = chained.MAX_TARGET
        moved = {a: w if w & BIND else (w & ~target) | ((w & target) - header_addr)
                 for a, w in fixups.items()}
        return original(image, segments, header_addr, moved)
    mp.setattr(chained, "_thread_chains", thread)


Imports = dict[tuple[int, str, bool, int], int]


def _edit_imports(mp: pytest.MonkeyPatch, edit: Callable[[tuple[int, str, bool, int]],
                                                         tuple[int, str, bool, int]]) -> None:
    original = chained._payload

    def payload(starts: dict[int, bytes], imports: Imports, *rest: Any) -> bytes:
        return original(starts, {edit(k): v for k, v in imports.items()}, *rest)
    mp.setattr(chained, "_payload", payload)


@mutant("chained fixups: an import's library ordinal off by one", "chained fixups")
def _ordinal(mp: pytest.MonkeyPatch) -> None:
    _edit_imports(mp, lambda k: (k[0] + 1, *k[1:]))


@mutant("chained fixups: a bind loses its addend", "chained fixups")
def _addend(mp: pytest.MonkeyPatch) -> None:
    _edit_imports(mp, lambda k: (*k[:3], 0))
    original = chained._thread_chains

    def thread(image: bytearray, segments: list[chained.ChainSegment], header_addr: int,
               fixups: dict[int, int]) -> dict[int, bytes]:
        bare = {a: w & ~(0xFF << 24) if w & BIND else w for a, w in fixups.items()}
        return original(image, segments, header_addr, bare)
    mp.setattr(chained, "_thread_chains", thread)


# --- thread-local variables -----------------------------------------------------------

def _retyped_rows(sites: list[RebaseSite]) -> list[tuple[np.ndarray, list[int]]]:
    """Per descriptor section: its relocation rows and the rows of the offset words."""
    groups: dict[int, list[RebaseSite]] = {}
    for site in sites:
        groups.setdefault(id(site.section), []).append(site)
    out = []
    for group in groups.values():
        rows = group[0].section.relocs.rows
        at = {int(o): r for r, o in enumerate(rows["offset"].tolist())}
        out.append((rows, [at[site.offset] for site in group]))
    return out


@mutant("TLV: each descriptor's offset names the next variable", "thread-local variables")
def _rotated(mp: pytest.MonkeyPatch) -> None:
    original = tlv.offset_records

    def offset_records(symtab: Any, word: int = 8) -> list[RebaseSite]:
        sites = original(symtab, word)
        for rows, picked in _retyped_rows(sites):  # the words written, not the records
            for column in ("symbol", "addend"):
                rows[column][picked] = np.roll(rows[column][picked], 1)
        return sites
    mp.setattr(tlv, "offset_records", offset_records)


@mutant("TLV: a __thread_bss variable's offset counted from __thread_bss, not the template",
        "thread-local variables")
def _bss_base(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.MachoParts.fill

    def fill(self: macho_link.MachoParts, layout: Any, syms: Any) -> Any:
        image, frame = original(self, layout, syms)
        bss = next((o for o in self.outs if o.name.endswith(",__thread_bss") and o.size), None)
        start = tlv.template_start(self.outs)
        if bss is not None and start is not None:
            targets = pointer_targets(self.tlv_offsets, layout, syms.address, self.arch.word)
            for site in self.tlv_offsets:
                if targets[layout.address_of(site.section) + site.offset] >= bss.addr:
                    rows = site.section.relocs.rows
                    r = rows["offset"].tolist().index(site.offset)
                    rows["addend"][r] -= bss.addr - start
        return image, frame
    mp.setattr(macho_link.MachoParts, "fill", fill)


@mutant("TLV: a descriptor's offset word rebased as a pointer", "thread-local variables")
def _offset_rebased(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.MachoParts.synthesize

    def synthesize(self: macho_link.MachoParts, scan: Any) -> Any:
        synthetic = original(self, scan)
        self.rebases.sites.extend(self.tlv_offsets)
        return synthetic
    mp.setattr(macho_link.MachoParts, "synthesize", synthesize)


@mutant("TLV: __thread_bss typed S_ZEROFILL (outside the template)", "thread-local variables")
def _bss_type(mp: pytest.MonkeyPatch) -> None:
    mp.setitem(sections._TLV_TYPES, "__thread_bss", sections.S_ZEROFILL)


@mutant("TLV: the template starts at __thread_data's own alignment, not its largest",
        "thread-local variables")
def _template_alignment(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tlv, "align_template", lambda outs: None)


@mutant("TLV: MH_HAS_TLV_DESCRIPTORS missing", "thread-local variables")
def _flag(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tlv, "header_flag", lambda outs: 0)


@mutant("TLV relaxation: the field made the descriptor's, the opcode left as mov",
        "thread-local variables")
def _relaxed_mov(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tlv, "LEA", tlv.MOV)


@mutant("TLV relaxation: mov made lea, the field left at the pointer slot",
        "thread-local variables")
def _relaxed_slot(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tlv, "RELAXED", dataclasses.replace(tlv.RELAXED, kind=RelocKind.GOT_PC))


@mutant("TLV relaxation (i386 absolute): `movl _v@TLVP, %eax` keeps its load opcode (0xa1)",
        "thread-local variables")
def _absolute_opcode(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tlv, "MOV_EAX_IMM", tlv.MOV_EAX_MOFFS)


@mutant("TLV relaxation (i386 absolute): the descriptor's address written pc-relative",
        "thread-local variables")
def _absolute_pc_relative(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tlv, "RELAXED_ABSOLUTE", dataclasses.replace(tlv.RELAXED_ABSOLUTE,
                                                            kind=RelocKind.PC))


# --- the cases and the judge ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Built:
    root: Path
    tlv_cases: list[macho_tlv.TlvCase]
    macho_cases: list[tuple[MachoCase, list[Path], list[Path]]]  # case, objects, stubs


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("power-macho-tlv")
    tlv_cases = [macho_tlv.sample(arch) for arch in ("x86_64", "i386")]
    tlv_cases.append(macho_tlv.absolute_sample())
    tlv_cases += [macho_tlv.aligned_bss_find(arch) for arch in ("x86_64", "i386")]
    for arch in ("x86_64", "i386"):
        tlv_cases += collect(macho_tlv.tlv_cases(arch), DRAWN_TLV)
    cases = []
    for n, case in enumerate([MachoCase(MACHO_SAMPLE, 0), *collect(macho_cases(),
                                                                  DRAWN_MACHO)]):
        objs = pipeline.write_objects(case.program, root / f"m{n}", case.variant)
        cases.append((case, objs, write_tbds(root / f"s{n}", case.program.libraries)))
    return Built(root, tlv_cases, cases)


def _exposed(built: Built, behaviour_only: bool = False) -> str | None:
    """What exposes the current linker, or None when every check passes (`behaviour_only`:
    the TLV cases judged by their runs against the model alone, not by the rules or the
    field oracle)."""
    tlv = ((f"TLV case {n} ({c.arch})", partial(check_case, c, built.root / f"tlv{n}",
                                                 behaviour_only))
           for n, c in enumerate(built.tlv_cases))
    chained = ((f"Mach-O case {n}, chained fixups", partial(_judged_chained, built, n))
               for n in range(len(built.macho_cases)))
    return first_exposure(itertools.chain(tlv, chained))


def _judged_chained(built: Built, n: int) -> list[str]:
    case, objs, stubs = built.macho_cases[n]
    exe = built.root / f"chained{n}"
    pipeline.link_linkharness(objs, stubs, exe, chained=True)
    return judge.everything(exe, objs, case.program, outcome(case.program))


def test_unmutated_linker_passes(built: Built) -> None:
    assert _exposed(built) is None


def test_seeded_bugs_are_caught(built: Built) -> None:
    results = seed_each(MUTANTS, lambda: _exposed(built))
    killed = print_kill_table("Mach-O TLV and chained-fixup harness power", results, MUTANTS,
                              width=110)
    assert killed == len(MUTANTS), results


def test_the_model_alone_sees_the_tlv_bugs(built: Built) -> None:
    """Every TLV mutant changes what the program does: the emulated runs alone, against the
    model's trace of thread-local reads, expose each (a wrong value read, or a fault)."""
    tlv_only = Mutants()
    for name, seed in MUTANTS.seeds.items():
        if MUTANTS.family[name] == "thread-local variables":
            tlv_only(name)(seed)
    results = seed_each(tlv_only, lambda: _exposed(dataclasses.replace(built, macho_cases=[]),
                                                   behaviour_only=True))
    killed = print_kill_table("TLV bugs seen by the model alone", results, width=110)
    assert killed == len(tlv_only), results


def test_the_samples_carry_what_the_mutants_touch() -> None:
    """Both TLV samples hold data and bss variables, at least two descriptors, reads from
    the other object; x86-64's a thread; the Mach-O sample binds with addends."""
    for arch in ("x86_64", "i386"):
        labels = macho_tlv.describe(macho_tlv.sample(arch))
        assert {"tlv:data", "tlv:bss", "tlv:other_object", "tlv:store"} <= labels
    assert "tlv:i386:absolute" in macho_tlv.describe(macho_tlv.absolute_sample())
    assert "tlv:thread" in macho_tlv.describe(macho_tlv.sample("x86_64"))
    assert any(f.addend for o in MACHO_SAMPLE.objects for d in o.data for f in d.fields
               if hasattr(f, "addend") and getattr(f, "target", "").startswith("lt"))
    # pointers a page apart: the chained fixups need two page starts
    gap = sum(8 for o in MACHO_SAMPLE.objects for d in o.data if d.name == "lh_g7"
              for _ in d.fields)
    assert gap >= 0x1000
