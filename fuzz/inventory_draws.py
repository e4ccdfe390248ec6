"""The inventory's deterministic draws (fuzz/inventory.py): for each target, the labels of
its hand-made samples plus a fixed number of derandomized draws of each of its strategies.
tests/fuzz/test_inventory.py requires every row's labels among them, and `make fuzz`'s
campaign prints the table from the same draws when its own workers recorded too few
examples to say anything (fuzz/campaign.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Self

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from .inventory_rows import ELF64, I386, MACHO32, MACHO64


def _draw(strategy: st.SearchStrategy[object], count: int) -> list[object]:
    drawn: list[object] = []

    @settings(max_examples=count, derandomize=True, phases=[Phase.generate], database=None,
              deadline=None)
    @given(strategy)
    def collect(x: object) -> None:
        drawn.append(x)

    collect()
    return drawn


class LabelTally(Counter[str]):
    """How many examples drew each label.  `tally |= labels` adds one example's labels (a
    set: one more in "examples" too), or another tally's counts."""

    def __ior__(self, other: Iterable[str]) -> Self:  # type: ignore[override,misc]
        if isinstance(other, Counter):
            self.update(other)
        else:
            self.update(set(other))
            self["examples"] += 1
        return self


def reached_labels(target: str, count: int) -> set[str]:
    """The labels of `target`'s hand-made samples and of `count` deterministic draws of each
    of its strategies."""
    return set(label_counts(target, count)) - {"examples"}


def all_label_counts(count: int) -> LabelTally:
    """label_counts summed over every target (what `make fuzz` prints the inventory from)."""
    from .inventory_rows import TARGETS
    total = LabelTally()
    for target in TARGETS:
        total |= label_counts(target, count)
    return total


def label_counts(target: str, count: int) -> LabelTally:
    """How many of `target`'s hand-made samples and `count` deterministic draws of each of
    its strategies drew each label (a few families tally theirs in bulk, once)."""
    from .coverage import describe, describe_i386, describe_macho
    from .model import Program
    labels = LabelTally()
    if target == ELF64:
        from .samples import SAMPLE
        from .samples_reach import REACH_SAMPLE, edge_error_samples
        from .strategies import error_programs, programs
        from .strategies_reach import edge_error_programs, reach_programs
        examples: list[object] = [SAMPLE, REACH_SAMPLE, *edge_error_samples()]
        for strategy in (programs(), reach_programs(), error_programs(), edge_error_programs()):
            examples += _draw(strategy, count)
        for p in examples:
            assert isinstance(p, Program)
            labels |= describe(p)
        from .copy_canonical import SAMPLES as COPY_SAMPLES
        from .copy_canonical import CopyCase, cases
        from .copy_canonical import describe as describe_copy
        for case in [*COPY_SAMPLES, *_draw(cases(), count)]:
            assert isinstance(case, CopyCase)
            labels |= describe_copy(case)
        from . import features
        for fcase in [*features.SAMPLES, *_draw(features.feature_cases(), count)]:
            assert isinstance(fcase, features.FeatureCase)
            labels |= features.describe(fcase)
        from . import versions
        for vcase in [*versions.SAMPLES, *_draw(versions.version_cases(), count)]:
            assert isinstance(vcase, versions.VersionCase)
            labels |= versions.describe(vcase)
        from . import tls
        for tcase in [tls.SAMPLE, *_draw(tls.cases(), count)]:
            assert isinstance(tcase, tls.TlsCase)
            labels |= tls.describe(tcase)
        from .roundtrip import draw_labels
        labels |= draw_labels([len(p.objects) for p in examples if isinstance(p, Program)],
                              count)
        from . import modules
        from .modules_samples import SAMPLE as MODULES_SAMPLE
        from .modules_samples import SAMPLE_LISTED, SAMPLE_PIC, SAMPLE_SYMBOLIC
        for mprogram in [MODULES_SAMPLE, SAMPLE_PIC, SAMPLE_LISTED, SAMPLE_SYMBOLIC,
                         *_draw(modules.programs(), count)]:
            assert isinstance(mprogram, modules.ModuleProgram)
            labels |= modules.describe(mprogram)
    elif target == I386:
        from .strategies_i386 import SAMPLE_CASE, I386Case, i386_cases, i386_error_programs
        i386_drawn = [SAMPLE_CASE, *_draw(i386_cases(), count)]
        for case in i386_drawn:
            assert isinstance(case, I386Case)
            labels |= describe_i386(case.program, case.choices.no_base_objects)
        from .roundtrip import draw_labels
        labels |= draw_labels([len(c.program.objects) for c in i386_drawn
                               if isinstance(c, I386Case)], count, i386=True)
        for p in _draw(i386_error_programs(), count):
            assert isinstance(p, Program)
            labels |= describe_i386(p, frozenset())
        from . import features_i386
        for fcase in [*features_i386.SAMPLES, *_draw(features_i386.i386_feature_cases(), count)]:
            assert isinstance(fcase, features_i386.I386FeatureCase)
            labels |= features_i386.describe(fcase)
    elif target == MACHO64:
        from .macho.samples import MACHO_SAMPLE
        from .macho.strategies import MachoCase, macho_cases
        # the sample under variants 0..3: every store form (SIGNED_1/2/4) without luck
        for variant in range(4):
            labels |= describe_macho(MACHO_SAMPLE, variant)
        for mcase in _draw(macho_cases(), count):
            assert isinstance(mcase, MachoCase)
            labels |= describe_macho(mcase.program, mcase.variant)
        labels |= _tlv_labels("x86_64", count)
        labels |= _macho_hole_labels(count)
        from .macho import subtractor
        for scase in [*subtractor.SAMPLES, *_draw(subtractor.subtractor_cases(), count)]:
            assert isinstance(scase, subtractor.SubtractorCase)
            labels |= subtractor.describe(scase)
        from .macho import dylib_split
        for dcase in [dylib_split.sample(), *_draw(dylib_split.cases(), count)]:
            assert isinstance(dcase, dylib_split.DylibCase)
            labels |= dylib_split.describe(dcase)
        from .macho import images
        for icase in [images.SAMPLE, *_draw(images.programs(), count)]:
            assert isinstance(icase, images.ImagesProgram)
            labels |= images.describe(icase)
    elif target == MACHO32:
        from .macho.coverage_i386 import describe_macho_i386
        from .macho.samples_i386 import MACHO_I386_SAMPLE, SAMPLE_VARIANTS
        from .macho.strategies_i386 import (
            MACHO_I386_ERROR_SAMPLES,
            MachoI386Case,
            macho_i386_cases,
            macho_i386_error_programs,
        )
        for variant in SAMPLE_VARIANTS:
            labels |= describe_macho_i386(MACHO_I386_SAMPLE, variant)
        for icase in [*MACHO_I386_ERROR_SAMPLES, *_draw(macho_i386_cases(), count),
                      *_draw(macho_i386_error_programs(), count)]:
            assert isinstance(icase, MachoI386Case)
            labels |= describe_macho_i386(icase.program, icase.variant)
        labels |= _tlv_labels("i386", count)
        labels |= _archive_labels("macho-i386", count)
        from .macho import sectdiff
        for sdcase in [*sectdiff.SAMPLES, *_draw(sectdiff.sectdiff_cases(), count)]:
            assert isinstance(sdcase, sectdiff.SectdiffCase)
            labels |= sectdiff.describe(sdcase)
        from .macho import dylib_split_i386
        for d386 in [dylib_split_i386.dylib_sample_i386(),
                     *_draw(dylib_split_i386.dylib_cases_i386(), count)]:
            assert isinstance(d386, dylib_split_i386.DylibCase386)
            labels |= dylib_split_i386.describe_i386(d386)
    return labels


def _macho_hole_labels(count: int) -> LabelTally:
    """fuzz/macho/subtractor.py's in-program edges, fuzz/macho/errors.py's models and the
    x86_64 archive labels: samples and `count` draws."""
    from .macho.errors import ERROR_SAMPLES, describe_errors, macho_error_cases
    from .macho.strategies import MachoCase
    from .macho.subtractor import EDGE_SAMPLE, edge_cases
    labels = LabelTally()
    for case in [EDGE_SAMPLE, *ERROR_SAMPLES, *_draw(edge_cases(), count),
                 *_draw(macho_error_cases(), count)]:
        assert isinstance(case, MachoCase)
        labels |= describe_errors(case.program)
    labels |= _archive_labels("macho", count)
    return labels


def _archive_labels(prefix: str, count: int) -> LabelTally:
    from .macho.archive import (
        ArchiveCase,
        describe_archive,
        i386_archive_cases,
        sample_case,
        x86_64_archive_cases,
    )
    from .macho.samples import MACHO_SAMPLE
    from .macho.samples_i386 import MACHO_I386_SAMPLE
    i386 = prefix == "macho-i386"
    sample = MACHO_I386_SAMPLE if i386 else MACHO_SAMPLE
    cases = [sample_case(sample, weak_head=True), sample_case(sample, llvm_ar=True),
             *_draw(i386_archive_cases() if i386 else x86_64_archive_cases(), count)]
    labels = LabelTally()
    for case in cases:
        assert isinstance(case, ArchiveCase)
        labels |= describe_archive(case, prefix)
    return labels


def _tlv_labels(arch: str, count: int) -> LabelTally:
    """fuzz/macho/tlv.py's labels: its sample and `count` draws for `arch`."""
    from .macho import tlv
    labels = LabelTally()
    samples = [tlv.sample(arch), *([tlv.absolute_sample()] if arch == "i386" else [])]
    for case in [*samples, *_draw(tlv.tlv_cases(arch), count)]:
        assert isinstance(case, tlv.TlvCase)
        labels |= tlv.describe(case)
    from .macho import tlv_dylib
    for dcase in [tlv_dylib.dylib_sample(arch), *_draw(tlv_dylib.dylib_cases(arch), count)]:
        assert isinstance(dcase, tlv.TlvCase)
        labels |= tlv_dylib.describe(dcase)
    from .macho import tlv_cxx
    for ccase in [*tlv_cxx.SAMPLES, *_draw(tlv_cxx.cxx_tlv_cases(), count)]:
        assert isinstance(ccase, tlv_cxx.CxxTlvCase)
        if ccase.arch == arch:
            labels |= tlv_cxx.describe(ccase)
    return labels

