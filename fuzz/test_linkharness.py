"""Property (a): linkharness links every drawn program; the output passes oracle.check, the
relocation-field oracle, and runs under the emulator (lazy and eager binding) with exactly
the model's trace and exit status, whatever the input order, -z now, hash style and -pie
(for about a third of the models that fuzz/pie.py makes PIE-legal).  For a share of the examples the same model is also
assembled by GNU as and llvm-mc, and linkharness's outputs from those objects must pass the
same checks.  A failure here is a linker bug (or an oracle bug)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz import judge
from fuzz.coverage import record
from fuzz.keep import kept_on_failure
from fuzz.model import Program
from fuzz.pie import pie_form
from fuzz.pipeline import LinkOptions, libraries, link_linkharness, linkharness_cases, write_objects
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome


@example(case=(SAMPLE, LinkOptions()), also_asm=0)
@example(case=(SAMPLE, LinkOptions(ibt_plt=True, emit_relocs=True)), also_asm=1)
@given(case=linkharness_cases(), also_asm=st.integers(0, 3))
def test_linkharness_output_is_right_by_every_check(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory,
    case: tuple[Program, LinkOptions], also_asm: int,
) -> None:
    program, options = case
    expected = outcome(program)  # the PIE form's too (fuzz/pie.py); the strategy's, kept
    if options.pie:
        program = pie_form(program)  # absolute addressing made pc-relative
    record(program, {label for label, on in (("link:pie", options.pie),
                                            ("link:ibtplt", options.ibt_plt),
                                            ("link:emit-relocs", options.emit_relocs)) if on})
    work = tmp_path_factory.mktemp("lh")
    for asm in [None, "as", "llvm-mc"] if also_asm == 0 else [None]:
        objs = write_objects(program, work / asm if asm else work, asm)
        exe = work / f"{asm}.out"
        libs = libraries(program, libtrace_dir)
        with kept_on_failure("linkharness", program, options.ordered(objs), libs,
                             options.bind_now, options=options):
            link_linkharness(objs, libs, exe, options)
            problems = judge.everything(exe, objs, expected, libtrace_dir)
            assert not problems, f"objects from {asm or 'our writer'}:\n" + "\n".join(
                problems)

