"""Mach-O i386 properties: drawn models in the Mach-O i386 subset (fuzz.macho.subset_i386),
lowered for i386 Darwin and written by our MH_OBJECT i386 writer (fuzz.macho.emit_macho_i386).

linkharness `target="macho-i386"` in its three shapes (modern, minimum OS 10.6: dyld info
  and LC_UNIXTHREAD; modern 10.9: LC_MAIN; classic: `__symbol_stub1`, indirect table,
  LC_DYSYMTAB relocations), and for a quarter of the examples also from llvm-mc-14's objects
  assembled from the same lowering as text: oracle.check finds nothing, the Mach-O field
  oracle no mismatch, and the emulated i386 dyld (lazy and now) gives the model's trace and
  exit status.  There is no reference linker for Mach-O i386 (ld64.lld-14 refuses
  -arch i386); the oracle and the next property are the judges.

Error models (undefined, duplicate, a 1- or 2-byte VANILLA field just past its edge): every
mode refuses in one line naming the culprit (or, for an overflowing non-extern entry, the
section it names) and the object, and leaves no output.

The four-target property (one model as elf64, elf32, macho64 and macho32) is with the other
cross-format properties in fuzz/test_macho_properties.py.  The every-flavour sample
(fuzz.macho.samples_i386) in three assembler variants is an explicit example.  The ci budget
is small (the whole of fuzz/ must stay a few minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from fuzz.coverage import record
from fuzz.macho import judge_i386, judge_tables
from fuzz.macho import pipeline_i386 as macho32
from fuzz.macho.coverage_i386 import describe_macho_i386
from fuzz.macho.samples_i386 import MACHO_I386_SAMPLE, SAMPLE_VARIANTS
from fuzz.macho.strategies_i386 import (
    MACHO_I386_ERROR_SAMPLES,
    MachoI386Case,
    macho_i386_cases,
    macho_i386_error_programs,
)
from fuzz.macho.tbd import write_tbds
from fuzz.model import ErrorKind
from fuzz.semantics import outcome
from linker import LinkError

CI_EXAMPLES = {"linkharness": 12, "errors": 8}
SAMPLE_CASES = [MachoI386Case(MACHO_I386_SAMPLE, v) for v in SAMPLE_VARIANTS]


def _budget(prop: str) -> Callable[[Any], Any]:
    current = settings.default
    if current is not None and current.derandomize:
        return settings(current, max_examples=CI_EXAMPLES[prop])
    return settings(current)


def link_and_judge(case: MachoI386Case, work: Path, asm: bool = False, tables: str = "full"
                   ) -> list[str]:
    """Every problem of `case` linked in every mode (also from llvm-mc objects if `asm`);
    the first mode's link with the symbol-table option `tables` (-s, -x), a JSON and a text
    map, judged for them too."""
    expected = outcome(case.program)
    objs = macho32.write_objects(case.program, work / "objs", case.variant)
    stubs = write_tbds(work / "stubs", case.program.libraries)
    builds = [(mode, objs, mode) for mode in macho32.MODES]
    if asm:
        llvm = macho32.write_asm_objects(case.program, work / "asm", case.variant)
        builds += [(f"{mode}, llvm-mc objects", llvm, mode)
                    for mode in ("modern-10.9", "classic")]
    problems = []
    exit_call = macho32.exits_through_libsystem(case.variant)
    for k, (how, inputs, mode) in enumerate(builds):
        exe = work / f"{k}.out"
        map_file = exe.with_suffix(".map.json") if k == 0 else None
        text = exe.with_suffix(".map.txt") if k == 0 else None
        macho32.link_linkharness(inputs, stubs, exe, mode, tables if k == 0 else "full",
                                 map_file, text)
        found = judge_i386.everything(exe, inputs, case.program, expected, exit_call,
                                      tables if k == 0 else "full")
        if map_file is not None and text is not None:
            found += [*judge_tables.symbol_table(exe, inputs, tables),
                      *judge_tables.link_map(map_file, exe), *judge_tables.text_map(text, exe)]
        problems += [f"linkharness {how}: {p}" for p in found]
    return problems


@_budget("linkharness")
@example(case=SAMPLE_CASES[0], also_asm=0, tables="full")
@example(case=SAMPLE_CASES[1], also_asm=1, tables="strip")
@example(case=SAMPLE_CASES[2], also_asm=1, tables="discard")
@given(case=macho_i386_cases(), also_asm=st.integers(0, 3),
       tables=st.sampled_from(judge_tables.TABLE_MODES))
def test_linkharness_macho_i386_every_mode(
    tmp_path_factory: pytest.TempPathFactory, case: MachoI386Case, also_asm: int, tables: str,
) -> None:
    record(case.program, describe_macho_i386(case.program, case.variant), x86_64_relocs=False)
    event(f"macho-i386: llvm-mc objects too: {also_asm == 0}; symbol table {tables}")
    problems = link_and_judge(case, tmp_path_factory.mktemp("macho32"), also_asm == 0,
                              tables)
    assert not problems, "\n".join(problems)


@_budget("errors")
@example(case=MACHO_I386_ERROR_SAMPLES[0])
@example(case=MACHO_I386_ERROR_SAMPLES[1])
@example(case=MACHO_I386_ERROR_SAMPLES[2])
@example(case=MACHO_I386_ERROR_SAMPLES[3])
@given(case=macho_i386_error_programs())
def test_linkharness_refuses_a_macho_i386_error_model(
    tmp_path_factory: pytest.TempPathFactory, case: MachoI386Case,
) -> None:
    """Undefined, duplicate, and a narrow VANILLA field just past its edge: linkharness
    raises a LinkError naming the culprit and the object at fault and leaves no output, in
    every mode."""
    program = case.program
    assert program.culprit is not None and program.error is not None
    record(program, describe_macho_i386(program, case.variant), x86_64_relocs=False)
    work = tmp_path_factory.mktemp("macho32err")
    objs = macho32.write_objects(program, work / "objs", case.variant)
    stubs = write_tbds(work / "stubs", program.libraries)
    for mode in macho32.MODES:
        exe = work / f"{mode}.out"
        with pytest.raises(LinkError) as caught:
            macho32.link_linkharness(objs, stubs, exe, mode)
        message = str(caught.value)
        # an overflowing field against a non-extern (section) entry names its section:
        # the object holds no symbol for it (llvm-mc writes those too)
        named = program.culprit in message or (
            program.error is ErrorKind.OVERFLOW and "symbol <section " in message)
        assert named, f"{mode}: {message}"
        assert f"{program.culprit_object}.o" in message, f"{mode}: {message}"
        assert "\n" not in message.strip(), f"{mode}: not one line: {message}"
        assert not exe.exists(), f"{mode}: output left behind"
