"""Property (r): `-r` round trips.  A contiguous run of a drawn program's objects is first
combined by `linkharness link -r` into one object (put where the run was, so that no
"first definition wins" rule sees another order), then the final link is made from that
object and the rest; the executable must behave exactly as the model says the direct link
does (the model is the judge), under the emulator lazy and eager, pass oracle.check, and
every relocated field must be what the *original* objects' relocations ask for (the field
oracle reads the objects before -r, so a relocation that -r moved to the wrong place or
rewrote against the wrong symbol or offset shows up as a field, not only as a behaviour).
For a share of the examples the objects come from GNU as with DWARF 5 (debug relocations,
merged strings and COMDAT copies through -r), and the final link is also made by GNU ld.

The draw is bounded (`max_examples` below, derandomized under the ci profile), so a newly
drawn case cannot turn CI red by chance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fuzz import judge
from fuzz.coverage import record
from fuzz.lower_i386 import I386Choices
from fuzz.model import Program
from fuzz.pipeline import DYNAMIC_LINKER, libraries, write_objects
from fuzz.pipeline_i386 import TARGET as TARGET_I386
from fuzz.pipeline_i386 import link_linkharness_i386, write_objects_i386
from fuzz.roundtrip import Split, describe_split, splits
from fuzz.samples import SAMPLE
from fuzz.semantics import outcome
from fuzz.strategies import programs
from fuzz.strategies_i386 import SAMPLE_CASE, I386Case, i386_cases
from linker import link
from oracle.reference import link_reference


def round_trip_inputs(objects: Sequence[Path], run: Split, work: Path,
                      target: str = "elf64-x86-64") -> list[Path]:
    """The final link's inputs: the run replaced, in place, by its -r combination."""
    start, stop = run
    combined = work / "combined.o"
    link([str(o) for o in objects[start:stop]], combined, relocatable=True, target=target)
    return [*objects[:start], combined, *objects[stop:]]


def judge_round_trip(program: Program, run: Split, assembler: str | None, by_gnu_ld: bool,
                     work: Path, libtrace_dir: Path,
                     i386_choices: I386Choices | None = None) -> list[str]:
    """Every check's problems for one example (empty: right); i386 when `i386_choices`."""
    expected = outcome(program)
    m32 = i386_choices is not None
    if i386_choices is not None:
        objects = write_objects_i386(program, work / "objects", assembler == "as",
                                     i386_choices)
    else:
        objects = write_objects(program, work / "objects", assembler)
    inputs = round_trip_inputs(objects, run, work, TARGET_I386 if m32 else "elf64-x86-64")
    libs = libraries(program, libtrace_dir)
    exe = work / "round-trip.out"
    if m32:
        link_linkharness_i386(inputs, libs, exe)
    else:
        link([*map(str, inputs), *libs], exe, entry="_start", dynamic_linker=DYNAMIC_LINKER)
    problems = judge.everything(exe, objects, expected, libtrace_dir)
    if by_gnu_ld:
        gnu = work / "round-trip-gnu.out"
        result = link_reference("bfd", [str(i) for i in inputs], str(gnu), libs=libs,
                                m32=m32)
        if not result.ok:
            return [*problems, f"GNU ld refused the -r output: {result.stderr.strip()}"]
        problems += [f"GNU ld: {p}" for p in judge.emulated(gnu, expected, libtrace_dir,
                                                             "lazy")]
    return problems


MAX_EXAMPLES = 10


@example(case=(SAMPLE, (0, len(SAMPLE.objects))), flavour=0)
@example(case=(SAMPLE, (1, len(SAMPLE.objects))), flavour=1)
@settings(max_examples=MAX_EXAMPLES)
@given(case=programs().flatmap(lambda p: st.tuples(st.just(p), splits(len(p.objects)))),
       flavour=st.integers(0, 3))
def test_relocatable_round_trip_behaves_as_the_direct_link(
    libtrace_dir: Path, tmp_path_factory: pytest.TempPathFactory, case: tuple[Program, Split],
    flavour: int,
) -> None:
    program, run = case
    assembler = "as" if flavour == 1 else None
    record(program, {"link:relocatable", *describe_split(run)})
    problems = judge_round_trip(program, run, assembler, by_gnu_ld=flavour <= 1,
                                work=tmp_path_factory.mktemp("r"),
                                libtrace_dir=libtrace_dir)
    assert not problems, f"-r of objects {run} ({assembler or 'our writer'}):\n" \
        + "\n".join(problems)


@example(case=(SAMPLE_CASE, (0, len(SAMPLE_CASE.program.objects))), flavour=0)
@example(case=(SAMPLE_CASE, (0, len(SAMPLE_CASE.program.objects))), flavour=1)
@settings(max_examples=MAX_EXAMPLES)
@given(case=i386_cases().flatmap(lambda c: st.tuples(st.just(c), splits(
    len(c.program.objects)))), flavour=st.integers(0, 3))
def test_relocatable_round_trip_i386(
    libtrace_dir_i386: Path, tmp_path_factory: pytest.TempPathFactory,
    case: tuple[I386Case, Split], flavour: int,
) -> None:
    """The same on elf32-i386: REL relocations, whose addends -r writes back into the
    fields, and the get_pc_thunk COMDAT copies of each object."""
    drawn, run = case
    assembler = "as" if flavour == 1 else None
    record(drawn.program, {"link:relocatable", *describe_split(run)})
    problems = judge_round_trip(drawn.program, run, assembler, by_gnu_ld=flavour <= 1,
                                work=tmp_path_factory.mktemp("r32"),
                                libtrace_dir=libtrace_dir_i386,
                                i386_choices=drawn.choices)
    assert not problems, f"i386 -r of objects {run} ({assembler or 'our writer'}):\n" \
        + "\n".join(problems)
