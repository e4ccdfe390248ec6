"""What the campaign changes in HypoFuzz, inside its workers (fuzz/conftest.py applies both
when `hypofuzz.detection.in_hypofuzz_run()`): a compatibility shim and a narrower tracer."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# what HypoFuzz's coverage guidance looks at (narrow_hypofuzz_tracing)
TRACED_PACKAGES = tuple(os.environ.get("LINKHARNESS_FUZZ_TRACE", "linker").split(","))


def hypofuzz_compat() -> None:
    """HypoFuzz 25.11.1 (the newest) carries the explain phase's comments over from the
    shrinker's result (`shrink_target.slice_comments`), which Hypothesis 6.170 no longer
    keeps: without this, a worker dies right after shrinking a failure, before saving it
    shrunk (measured: tests/fuzz/test_campaign.py).  The comments only decorate the report,
    so a result without them reads as having none."""
    from hypothesis.internal.conjecture.data import ConjectureResult

    if not hasattr(ConjectureResult, "slice_comments"):
        ConjectureResult.slice_comments = property(lambda self: {})  # type: ignore[attr-defined]


def narrow_hypofuzz_tracing() -> None:
    """Make HypoFuzz's branch coverage trace only the code under test.

    Before Python 3.12, HypoFuzz measures coverage with a sys.settrace line tracer that stays
    on in every frame, third-party libraries included (numpy, pyelftools, capstone, unicorn's
    bindings), and only then asks whether the file counts.  Measured on property (a), 25
    drawn examples, in-process CPU ms per example: untraced 16-20, HypoFuzz's tracer 180,
    this one 49 over linker/ (the default), 60 over linker/ and fuzz/, 87 over linker/,
    oracle/ and fuzz/ (LINKHARNESS_FUZZ_TRACE=linker,oracle,fuzz).  It declines every other
    frame at its call event, so those run untraced; inside the traced packages it records the
    same line-to-line branches as HypoFuzz's own."""
    from hypofuzz import coverage as hypofuzz_coverage

    if sys.version_info >= (3, 12):
        return  # sys.monitoring: HypoFuzz already disables untraced code objects
    roots = tuple(str(REPO / package) + os.sep for package in TRACED_PACKAGES)
    location, branch = hypofuzz_coverage.Location, hypofuzz_coverage.Branch

    def trace(self: Any, frame: FrameType, event: str, arg: object) -> Any:
        filename = frame.f_code.co_filename
        if not filename.startswith(roots):
            return None
        if event == "line":
            here = location(filename, frame.f_lineno, None)
            if self.last is not None:
                self.branches.add(branch.make(self.last, here))
            self.last = here
        return self.trace_pre_312

    hypofuzz_coverage.CoverageCollector.trace_pre_312 = trace  # type: ignore[method-assign]
