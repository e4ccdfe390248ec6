"""The baseline the fuzz throughput is compared with: a shell pipeline that assembles a
trivial case with GNU as, links it with GNU ld and runs it natively, checking only the exit
status. This is the cost the issue quotes (about 8 ms a case, 125 cases/s).

Beside it, the same-work baseline (measure_same_work): property (a)'s very examples as
assembly text through GNU as, GNU ld with (a)'s link options and a native run.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stage_clock import cpu_now

TRIVIAL_ASM = """\
    .globl _start
    .text
_start:
    mov $60, %eax
    mov $42, %edi
    syscall
"""
EXIT_STATUS = 42
PIPELINE = "as --64 -o case.o case.s && ld -o case case.o && ./case"


@dataclass(frozen=True)
class Baseline:
    """Wall and CPU seconds (the shell and its children) per case of the shell pipeline."""

    wall_s: tuple[float, ...]
    cpu_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def cases_per_s(self) -> float:
        return 1.0 / self.median_s

    @property
    def cases_per_cpu_s(self) -> float:
        return 1.0 / statistics.median(self.cpu_s)

    def to_json(self) -> dict[str, object]:
        return {"pipeline": PIPELINE, "cases": len(self.wall_s), "median_s": self.median_s,
                "min_s": min(self.wall_s), "cases_per_s": self.cases_per_s,
                "median_cpu_s": statistics.median(self.cpu_s),
                "cases_per_cpu_s": self.cases_per_cpu_s}


def measure_baseline(directory: Path, cases: int) -> Baseline:
    """Run the pipeline `cases` times (after one warm-up) in `directory`; each must exit 42."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "case.s").write_text(TRIVIAL_ASM)
    times, cpu_times = [], []
    for i in range(cases + 1):
        (directory / "case").unlink(missing_ok=True)
        start, cpu = time.perf_counter(), cpu_now()
        done = subprocess.run(["sh", "-c", PIPELINE], cwd=directory, capture_output=True,
                              check=False)
        elapsed, cpu_used = time.perf_counter() - start, cpu_now() - cpu
        if done.returncode != EXIT_STATUS:
            raise RuntimeError(f"baseline pipeline exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace').strip()}")
        if i:
            times.append(elapsed)
            cpu_times.append(cpu_used)
    return Baseline(tuple(times), tuple(cpu_times))


# The same-work baseline: property (a)'s own examples through the shell.  GNU as takes the
# project's assembly text of each object (fuzz/emit_asm.py: the text the properties already
# hand GNU as for a share of examples, without --gdwarf-5, since our writer's objects, which
# (a) links, carry no debug information), GNU ld links them with (a)'s link options against
# the same libtrace libraries, and the output runs natively as fuzz/test_native.py runs it
# (LD_LIBRARY_PATH naming the libtrace directory), checking only the exit status against the
# model's.  One `sh -c` per example, timed as the trivial case is.
DYNAMIC_LINKER = "/lib64/ld-linux-x86-64.so.2"
# What the pipeline says on stderr when an assembler or linker failed (a program may end
# with any status, so the status cannot say it).
TOOL_FAILED = "same-work-baseline: the assembler or the linker failed"


@dataclass(frozen=True)
class SameWorkCase:
    """One example as the shell sees it: its assembly files, the link and run command, the
    exit status the model says the program ends with."""

    sources: dict[str, str]  # file name -> assembly text
    command: str
    status: int


def same_work_command(objects: list[str], order: tuple[int, ...], libs: list[str],
                      lib_dir: Path, *, pie: bool, bind_now: bool, hash_style: str,
                      ibt_plt: bool, emit_relocs: bool, native_runs: int) -> str:
    """The shell text for one example: `as` each object's text, `ld` them in the link
    order with property (a)'s options, then `native_runs` native runs (the first lazy, a
    second with LD_BIND_NOW, as (a) emulates lazily and eagerly), the last one's status
    being the pipeline's."""
    assemble = [f"as --64 -o {name}.o {name}.s" for name in objects]
    ordered = [objects[i] for i in order] if order else objects
    link = ["ld", "-m", "elf_x86_64", "-o", "case", "-pie" if pie else "-no-pie", "-e",
            "_start", "-dynamic-linker", DYNAMIC_LINKER, f"--hash-style={hash_style}"]
    if bind_now:
        link += ["-z", "now"]
    if ibt_plt:
        link += ["-z", "ibtplt"]
    if emit_relocs:
        link.append("--emit-relocs")
    link += [f"{name}.o" for name in ordered] + libs
    runs = [f"LD_LIBRARY_PATH={lib_dir} ./case", f"LD_BIND_NOW=1 LD_LIBRARY_PATH={lib_dir} ./case"]
    tools = " && ".join([*assemble, " ".join(link)])
    failed = f"{{ echo '{TOOL_FAILED}' >&2; exit 1; }}"
    return "; ".join([f"{{ {tools}; }} || {failed}", *runs[:native_runs]])


def same_work_case(program: Any, options: Any, lib_dir: Path, native_runs: int,
                   pie: bool = True) -> SameWorkCase:
    """Property (a)'s example (the model and its link options, as fuzz_throughput draws
    them) as a shell case: the PIE form when (a) links it -pie, as (a) does, linked -pie
    unless `pie` is False (GNU ld refuses some PIE-legal models, below)."""
    from fuzz.assemble_x86 import lowered_images
    from fuzz.emit_asm import write_asm
    from fuzz.pie import pie_form
    from fuzz.pipeline import libraries
    from fuzz.semantics import outcome

    status = outcome(program).status
    if options.pie:
        program = pie_form(program)
    sources = {obj.name: write_asm(obj) for obj, _ in lowered_images(program)}
    command = same_work_command(list(sources), options.order, libraries(program, lib_dir),
                                lib_dir, pie=options.pie and pie, bind_now=options.bind_now,
                                hash_style=options.hash_style, ibt_plt=options.ibt_plt,
                                emit_relocs=options.emit_relocs, native_runs=native_runs)
    return SameWorkCase(sources, command, status)


@dataclass(frozen=True)
class SameWork:
    """Wall and CPU seconds (the shell and its children) per example of the same-work
    pipeline, and how many examples ended with a status other than the model's."""

    wall_s: tuple[float, ...]
    cpu_s: tuple[float, ...]
    native_runs: int
    wrong_status: int
    pie_refused: int  # -pie examples GNU ld refused, timed linked -no-pie instead

    @property
    def examples(self) -> int:
        return len(self.wall_s)

    @property
    def median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def cases_per_s(self) -> float:
        """Examples per second of wall time, from the total (as the properties' rates are)."""
        return self.examples / sum(self.wall_s)

    @property
    def cases_per_cpu_s(self) -> float:
        return self.examples / sum(self.cpu_s)

    def to_json(self) -> dict[str, object]:
        return {"pipeline": "as --64 (each object's fuzz/emit_asm text) && ld (property (a)'s "
                            "options and libtrace libraries) && native run(s), exit status "
                            "only",
                "examples": self.examples, "native_runs": self.native_runs,
                "wrong_status": self.wrong_status, "pie_refused": self.pie_refused,
                "median_s": self.median_s,
                "total_s": sum(self.wall_s), "total_cpu_s": sum(self.cpu_s),
                "cases_per_s": self.cases_per_s, "cases_per_cpu_s": self.cases_per_cpu_s,
                "cpu_ms_per_example": 1e3 * sum(self.cpu_s) / self.examples}


def measure_same_work(examples: list[Any], directory: Path, lib_dir: Path,
                      native_runs: int = 1) -> SameWork:
    """Each of property (a)'s `examples` through the shell pipeline, in `directory`, after
    one untimed warm-up (the first example).  Writing the assembly text is not timed (the
    trivial case's is written once, before its clock).  GNU ld refuses an R_X86_64_PC32
    call to a shared library's function in a PIE ("recompile with -fPIE"), which
    linkharness, lld and mold link through a PLT entry: such an example is timed again
    linked -no-pie (the failed attempt untimed) and counted.  Any other assembler or
    linker failure is an error, not a figure."""
    directory.mkdir(parents=True, exist_ok=True)
    walls, cpus, wrong, refused = [], [], 0, 0
    for i, (program, options) in enumerate(examples[:1] + examples):
        case = same_work_case(program, options, lib_dir, native_runs)
        done, elapsed, cpu_used = _run_case(case, directory)
        if TOOL_FAILED.encode() in done.stderr and options.pie:
            refused += i > 0
            case = same_work_case(program, options, lib_dir, native_runs, pie=False)
            done, elapsed, cpu_used = _run_case(case, directory)
        if TOOL_FAILED.encode() in done.stderr:
            raise RuntimeError(f"same-work pipeline failed: {case.command}: "
                               f"{done.stderr.decode(errors='replace').strip()[:500]}")
        if i:
            walls.append(elapsed)
            cpus.append(cpu_used)
            wrong += done.returncode != case.status
    return SameWork(tuple(walls), tuple(cpus), native_runs, wrong, refused)


def _run_case(case: SameWorkCase, directory: Path
              ) -> tuple[subprocess.CompletedProcess[bytes], float, float]:
    """The case's files written into the emptied `directory` (untimed), then its shell
    pipeline, timed: (its process, wall s, CPU s of this process and its children)."""
    for child in directory.iterdir():
        child.unlink()
    for name, text in case.sources.items():
        (directory / f"{name}.s").write_text(text)
    start, cpu = time.perf_counter(), cpu_now()
    done = subprocess.run(["sh", "-c", case.command], cwd=directory, capture_output=True,
                          check=False)
    return done, time.perf_counter() - start, cpu_now() - cpu
