"""The harness's power over Mach-O images that meet at run time (fuzz/macho/images.py):
seed bugs into linkharness's weak-definition coalescing, LC_RPATH and bundle paths, one at
a time, and require the images property's judges (oracle.check and the field oracle on
every image, the emulated dyld finding the images through the run paths alone, dlopen'ing
the bundle and coalescing weak definitions, lazy and now, against the model) to catch each.

Cases: the images SAMPLE with linkharness in both seats (dyld-info opcodes and chained
fixups), crosswise with ld64.lld-14 in either seat, i386, and one drawn program.  Objects are
compiled once; each mutant relinks.  The kill table is printed (`-s`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fuzz.macho.images import SAMPLE, ImagesProgram, programs
from fuzz.macho.images_build import Seat, compile_images, judge_seat
from fuzz.power import Mutants, collect, print_kill_table, seed_each
from linker.macho import image_kind, weak
from linker.macho import link as macho_link
from linker.macho.write import MH_BUNDLE

MUTANTS = Mutants()
mutant = MUTANTS


@mutant("MH_WEAK_DEFINES left out of an image exporting weak definitions")
def _no_weak_defines(mp: pytest.MonkeyPatch) -> None:
    original = weak.header_flags
    mp.setattr(weak, "header_flags",
               lambda own, sites: original(own, sites) & ~weak.MH_WEAK_DEFINES)


@mutant("calls to the image's own weak definitions left direct (no stub dyld can rewrite)")
def _direct_weak_calls(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(weak, "route_calls_through_stubs", lambda symtab, scan, own: None)


@mutant("the slots of the image's own weak definitions not weakly bound")
def _own_slots_unbound(mp: pytest.MonkeyPatch) -> None:
    original = weak.weak_sites

    def sites(symtab: Any, *args: Any) -> Any:
        return [s for s in original(symtab, *args) if symtab.symbols[s[1]].imported]
    mp.setattr(weak, "weak_sites", sites)


@mutant("GOT slots of weak definitions (weak data reached through the GOT) not weakly bound")
def _got_slots_unbound(mp: pytest.MonkeyPatch) -> None:
    original = weak.weak_sites

    def sites(symtab: Any, scan: Any, layout: Any, synthetic: Any, *args: Any) -> Any:
        found = original(symtab, scan, layout, synthetic, *args)
        if synthetic.got is None:
            return found
        start = layout.address_of(synthetic.got)
        return [s for s in found if not start <= s[0] < start + synthetic.got.size]
    mp.setattr(weak, "weak_sites", sites)


@mutant("a dylib's weak definition imported without a weak bind")
def _weak_imports_unbound(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(weak, "coalesced", lambda symtab, own: set(own))


@mutant("chained fixups: weak sites left as rebases, not weak-lookup binds")
def _chained_weak_rebased(mp: pytest.MonkeyPatch) -> None:
    original = weak.weak_binds

    def binds(symtab: Any, sites: Any, data: Any, ordinal: int = 0) -> Any:
        return [] if ordinal == weak.WEAK_LOOKUP else original(symtab, sites, data, ordinal)
    mp.setattr(weak, "weak_binds", binds)


@mutant("-rpath accepted but no LC_RPATH written")
def _no_rpath(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.serialize

    def serialize(*args: Any, **kwargs: Any) -> Any:
        return original(*args[:17], **kwargs)  # everything but the run paths (the last)
    mp.setattr(macho_link, "serialize", serialize)


@mutant("a bundle's export trie left empty (dlsym finds nothing)")
def _bundle_exports_nothing(mp: pytest.MonkeyPatch) -> None:
    kinds: list[Any] = []
    original_kind = image_kind.kind_from_options
    original_trie = macho_link.export_trie

    def kind_from_options(*args: Any) -> Any:
        kinds.append(original_kind(*args))
        return kinds[-1]

    def export_trie(symbols: Any) -> Any:
        bundle = bool(kinds) and kinds[-1].filetype == MH_BUNDLE
        return original_trie([] if bundle else symbols)
    mp.setattr(image_kind, "kind_from_options", kind_from_options)
    mp.setattr(macho_link, "export_trie", export_trie)


@mutant("a dylib's or bundle's rebases left out (its pointers stay unslid)")
def _library_not_rebased(mp: pytest.MonkeyPatch) -> None:
    original = macho_link.site_addresses

    def sites(records: Any, layout: Any) -> Any:
        library = bool(layout.segments) and layout.segments[0].addr == 0
        return [] if library else original(records, layout)
    mp.setattr(macho_link, "site_addresses", sites)


SEATS = (Seat("linkharness", "linkharness"), Seat("linkharness", "linkharness", True),
         Seat("lld", "linkharness"), Seat("linkharness", "lld"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory
             ) -> list[tuple[ImagesProgram, dict[int, Path], Seat]]:
    cases = []
    objects = compile_images(SAMPLE, tmp_path_factory.mktemp("sample"))
    cases += [(SAMPLE, objects, seat) for seat in SEATS]
    i386 = compile_images(SAMPLE, tmp_path_factory.mktemp("sample386"), i386=True)
    cases.append((SAMPLE, i386, Seat("linkharness", "linkharness", i386=True)))
    for n, program in enumerate(collect(programs(), 1)):
        drawn = compile_images(program, tmp_path_factory.mktemp(f"drawn{n}"))
        cases.append((program, drawn, SEATS[0]))
    return cases


def test_every_seeded_images_bug_is_caught(
        prepared: list[tuple[ImagesProgram, dict[int, Path], Seat]],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    def exposed() -> str | None:
        for program, objects, seat in prepared:
            problems = judge_seat(program, objects, seat, tmp_path_factory.mktemp("seat"))
            if problems:
                return problems[0]
        return None

    baseline = exposed()
    assert baseline is None, f"the unmutated linker already fails: {baseline}"
    results = seed_each(MUTANTS, exposed, crash_kills=True)
    killed = print_kill_table("Mach-O images (weak coalescing, rpath, bundles)", results)
    assert len(MUTANTS) >= 9
    assert killed == len(results), [n for n, how in results.items() if not how]
