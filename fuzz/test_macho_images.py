"""Mach-O programs of several images (fuzz/macho/images.py): an executable, one or two
dylibs found through LC_RPATH, and a bundle it opens with dlopen, with weak definitions in
several images that dyld must coalesce.  Each drawn program is compiled by clang once and
linked in one seat (linkharness or ld64.lld-14 for the dylibs and the bundle, either for
the executable; linkharness with dyld-info opcodes or chained fixups), then judged:
oracle.check and the field oracle on every image, and the emulated run (lazy and now, no
library directory: the run paths alone find the images) against the model.

The hand-made SAMPLE is judged every time with linkharness in both seats (both fixup
encodings, and -arch i386) and ld64.lld in both.  A quarter of the linkharness-only seats
are i386.  Examples are bounded under the ci profile.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from fuzz.macho.images import SAMPLE, ImagesProgram, describe, programs
from fuzz.macho.images_build import LINKERS, Seat, compile_images, judge_seat

CI_EXAMPLES = 8


def seats() -> st.SearchStrategy[Seat]:
    return st.builds(Seat, st.sampled_from(LINKERS), st.sampled_from(LINKERS),
                     st.booleans(), st.integers(0, 3).map(lambda n: n == 0))


def _ci_bounded(prop: Callable[..., None]) -> Callable[..., None]:
    ci = settings.default is not None and settings.default.derandomize
    return settings(settings.default, max_examples=CI_EXAMPLES)(prop) if ci else prop


@_ci_bounded
@example(program=SAMPLE, seat=Seat("linkharness", "linkharness"))
@example(program=SAMPLE, seat=Seat("linkharness", "linkharness", chained=True))
@example(program=SAMPLE, seat=Seat("lld", "lld"))
@example(program=SAMPLE, seat=Seat("linkharness", "linkharness", i386=True))
@given(program=programs(), seat=seats())
def test_images_bind_and_coalesce_as_dyld_does(
    tmp_path_factory: pytest.TempPathFactory, program: ImagesProgram, seat: Seat,
) -> None:
    if seat.libraries != "linkharness" or seat.executable != "linkharness":
        # chained fixups and i386 are linkharness's alone (ld64.lld-14 reads no
        # LC_DYLD_EXPORTS_TRIE and has no i386)
        seat = Seat(seat.libraries, seat.executable)
    elif seat.i386:
        seat = Seat(seat.libraries, seat.executable, chained=False, i386=True)
    seat_label = f"macho-images:seat-{seat.libraries}-{seat.executable}"
    for label in sorted(describe(program) | {seat_label}):
        event(label)
    work = tmp_path_factory.mktemp("images")
    objects = compile_images(program, work / "objs", seat.i386)
    problems = judge_seat(program, objects, seat, work / "seat")
    assert not problems, "\n".join(problems)
