"""Coverage-guided hostile campaign (atheris, libFuzzer's engine) over one target:

    .venv/bin/python -m fuzz.hostile.atheris_main TARGET SECONDS [CASES_DIR]

TARGET is a name of fuzz.hostile.seeds (elf64-object, archive, shared-object, macho64-object,
tbd, elf64-exe ... : the readers through linker.link, the emulator's loaders and the
checker through the executables).  linker/ and oracle/ are instrumented, the target's seeds
start the corpus, and every input that breaks a rule of fuzz.hostile.rules is written to
CASES_DIR (default tests/hostile/cases/) as a regression case: the mutated file and
recipe.txt, which tests/hostile/test_regressions.py replays.  Fuzzing goes on after a find
(up to MAX_KEPT per run).  `make fuzz-hostile` runs every target for its share of
FUZZ_SECONDS.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import atheris

if TYPE_CHECKING:
    from .seeds import Targets

ROOT = Path(__file__).resolve().parents[2]
MAX_KEPT = 20


def _warm_up(targets: Targets) -> None:
    """Link every seed link and run every executable once (importing what they use)."""
    from .cases import exe_case, link_case
    with tempfile.TemporaryDirectory() as tmp:
        for target in targets.links.values():
            link_case(target, target.mutable[0], target.seeds[0].data, Path(tmp))
        for exe in targets.exes.values():
            exe_case(exe, exe.seed.data, Path(tmp), "lazy")


def main(argv: list[str]) -> None:
    name, seconds = argv[1], int(float(argv[2]))
    cases_dir = Path(argv[3]) if len(argv) > 3 else ROOT / "tests" / "hostile" / "cases"
    work = Path(tempfile.mkdtemp(prefix=f"atheris-{name}-"))
    # Instrument linker/ and oracle/ as they are imported: the campaign's modules, then one
    # run of the seed (linker/ imports most of its modules lazily, on first use).
    with atheris.instrument_imports(include=["linker", "oracle"]):
        from .cases import exe_case, link_case
        from .seeds import build_targets
        targets = build_targets(work / "seeds")
        _warm_up(targets)
    corpus = work / "corpus"
    corpus.mkdir()
    if name in targets.links:
        link_target = targets.links[name]
        index = link_target.mutable[0]
        seed_data = link_target.seeds[0].data
        file_name = link_target.inputs[index].name

        def broken_by(data: bytes) -> list[str]:
            return link_case(link_target, index, data, work / "case")
    else:
        exe_target = targets.exes[name]
        seed_data = exe_target.seed.data
        file_name = exe_target.exe.name

        def broken_by(data: bytes) -> list[str]:
            return exe_case(exe_target, data, work / "case", "lazy")
    (corpus / "seed").write_bytes(seed_data)
    kept = [0]

    def test_one(data: bytes) -> None:
        broken = broken_by(data)
        if broken and kept[0] < MAX_KEPT:
            kept[0] += 1
            case = cases_dir / f"{name}-atheris-{hashlib.sha1(data).hexdigest()[:10]}"
            case.mkdir(parents=True, exist_ok=True)
            (case / file_name).write_bytes(data)
            (case / "recipe.txt").write_text(
                f"target: {name}\nfile: {file_name}\nmutations: atheris (libFuzzer)\n"
                "broken:\n" + "".join(f"  {b}\n" for b in broken))
            print(f"HOSTILE FIND {case}: {broken}", flush=True)

    atheris.Setup([argv[0], f"-max_total_time={seconds}", f"-max_len={2 * len(seed_data)}",
                   "-print_final_stats=1", "-timeout=30",
                   # libFuzzer's slow-unit-*/crash-* files go beside the corpus, not in the cwd
                   f"-artifact_prefix={work}/", str(corpus)], test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
