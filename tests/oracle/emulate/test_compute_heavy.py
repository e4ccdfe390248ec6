"""The compute-heavy benchmark's programs (bench/compute_programs.py) at a small size, not
timed: an N-queens search and a sieve whose loop calls memcpy and qsort (the comparator a
call from the library back into the program) print under oracle.run exactly what their
native gcc build prints, built for ELF x86-64 and i386 (GNU ld) and Mach-O x86-64
(ld64.lld and linkharness) and i386 (linkharness); and bare Unicorn on the freestanding
image of the same kernel exits with the low byte of that number, so the benchmark's two
sides compute the same thing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # bench/ is run as scripts, not installed
    sys.path.insert(0, str(ROOT))

from bench.bare_unicorn import run as bare_run
from bench.compute_programs import TARGETS, ComputeProgram, build_all
from oracle import run

SIZES = {"nqueens": 6, "sortsieve": 12}  # 4 placements; 12 rounds of memcpy + qsort


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> list[ComputeProgram]:
    return build_all(tmp_path_factory.mktemp("compute"), SIZES)


def test_every_target_is_built_and_the_native_answers_are_known(
        programs: list[ComputeProgram]) -> None:
    assert len(programs) == len(SIZES) * len(TARGETS)
    nqueens = {p.stdout for p in programs if p.kernel == "nqueens"}
    assert nqueens == {b"4\n"}  # six queens have four placements
    # the sieve's checksum is an unsigned long: 64 bits on x86-64, 32 on i386
    sums = {(p.target.bits, p.stdout) for p in programs if p.kernel == "sortsieve"}
    assert len(sums) == 2 and all(int(out) > 0 for _, out in sums)


@pytest.mark.parametrize("lazy", [True, False], ids=["lazy", "now"])
def test_the_dynamic_programs_print_what_the_native_build_prints(
        programs: list[ComputeProgram], lazy: bool) -> None:
    wrong = []
    for program in programs:
        result = run(str(program.dynamic), [program.dynamic.name],
                     bind="lazy" if lazy else "now")
        if result.faults or result.exit_code != 0 or result.stdout != program.stdout:
            wrong.append(f"{program.label}: exit {result.exit_code}, {result.stdout!r} not "
                         f"{program.stdout!r}, {[f.describe() for f in result.faults]}")
    assert not wrong, "\n".join(wrong)


def test_bare_unicorn_runs_the_freestanding_images_to_the_same_answer(
        programs: list[ComputeProgram]) -> None:
    for program in programs:
        assert bare_run(program.freestanding).status == program.exit_status, program.label


def test_the_cli_runs_a_compute_program_as_a_whole_process(
        programs: list[ComputeProgram]) -> None:
    program = next(p for p in programs if p.kernel == "sortsieve" and p.target.macho)
    done = subprocess.run([sys.executable, "-m", "oracle.cli", "run", str(program.dynamic)],
                          capture_output=True, check=False, timeout=60)
    assert (done.returncode, done.stdout) == (0, program.stdout), done.stderr
