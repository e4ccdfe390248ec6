"""What property (a) costs as pytest runs it, beyond the stages bench/fuzz_throughput.py times.

    .venv/bin/python bench/fuzz_property_cost.py                  # 200 examples, seed 0
    .venv/bin/python bench/fuzz_property_cost.py --examples 300 --json cost.json

fuzz_throughput.py draws its examples first and then runs each stage of property (a) on
them; this runs the property itself (fuzz/test_linkharness.py) through pytest.main in this
process, under a profile of its own (derandomized from `--seed`, no database, generation
only, `--examples` examples), with pytest's and Hypothesis's machinery as a test run has it.
The names the test module calls are wrapped in timers, so that its call phase splits into:

- Hypothesis (engine + drawing): the call phase less the test body's own time;
- the body's parts: the model (PIE form, coverage labels, outcome), directories, writing
  objects, linking, the judges (judge.everything: checker, field oracle, debug
  information, two emulated runs), each for our writer's objects and, apart, for the
  share of examples also assembled by GNU as and llvm-mc;
- glue: the body less its timed parts (the failure keeper, the loop, Python calls).

Times are CPU seconds of this process and its reaped children (bench/stage_clock.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.linkers import project_commit
from bench.stage_clock import StageClock, cpu_now

BENCHMARK = "fuzz property cost: property (a) under pytest, per example"
PROFILE = "bench-property-cost"
TEST = "fuzz/test_linkharness.py"
CALL, BODY = "pytest call phase", "test body"
OURS, ASSEMBLERS = "our writer", "GNU as + llvm-mc"


class Timing:
    """A pytest plugin: the call phase's CPU time, and the test module's callees wrapped."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.clock = StageClock()
        self.examples = 0
        self._warm = 0.0  # CPU time at the end of the first example
        self._asm: str | None = None  # which objects the body is on (None: ours)

    def _part(self, name: str) -> str:
        return f"{name} ({ASSEMBLERS if self._asm else OURS})"

    def wrap(self, name: str, fn: Callable[..., Any], per_asm: bool = True
             ) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.clock.stage(self._part(name) if per_asm else name):
                return fn(*args, **kwargs)
        return timed

    def pytest_collection_finish(self, session: Any) -> None:
        import fuzz.test_linkharness as prop

        def write_objects(program: Any, directory: Path, asm: str | None = None) -> Any:
            self._asm = asm
            with self.clock.stage(self._part("writing objects")):
                return original_write(program, directory, asm)

        original_write = prop.write_objects
        prop.write_objects = write_objects  # type: ignore[assignment]
        for name, stage in (("outcome", "model: outcome"), ("pie_form", "model: PIE form"),
                            ("record", "model: coverage labels (lowering included)")):
            setattr(prop, name, self.wrap(stage, getattr(prop, name), per_asm=False))
        prop.link_linkharness = self.wrap("linking", prop.link_linkharness)
        prop.judge = _Judge(self.wrap("judges", prop.judge.everything))  # type: ignore
        factory_timer = self.wrap("directories", lambda f, n: f.mktemp(n), per_asm=False)
        test: Any = prop.test_linkharness_output_is_right_by_every_check
        test._hypothesis_internal_use_seed = self.seed  # what @seed(...) sets
        body = test.hypothesis.inner_test

        def inner(*args: Any, **kwargs: Any) -> None:
            self._asm = None
            factory = kwargs["tmp_path_factory"]
            kwargs["tmp_path_factory"] = _Factory(factory, factory_timer)
            with self.clock.stage(BODY):
                body(*args, **kwargs)
            if not self.examples:  # the first example warms up (imports, caches): not timed
                self.clock = StageClock()
                self._warm = cpu_now()
            self.examples += 1

        test.hypothesis.inner_test = inner

    def pytest_pyfunc_call(self, pyfuncitem: Any) -> Iterator[None]:
        yield
        self.clock.add(CALL, 0.0, cpu_now() - self._warm)

    pytest_pyfunc_call.hookwrapper = True  # type: ignore[attr-defined]


class _Judge:
    def __init__(self, everything: Callable[..., list[str]]) -> None:
        self.everything = everything


class _Factory:
    def __init__(self, factory: Any, mktemp: Callable[[Any, str], Path]) -> None:
        self._factory, self._mktemp = factory, mktemp

    def mktemp(self, basename: str) -> Path:
        return self._mktemp(self._factory, basename)


def _register_profile(examples: int) -> None:
    """Derandomized, as the ci profile is (fuzz/conftest.py repeats a property that is not
    for its share of FUZZ_SECONDS); the plugin seeds the test itself."""
    from hypothesis import HealthCheck, Phase, settings
    settings.register_profile(PROFILE, max_examples=examples, derandomize=True,
                              database=None, deadline=None,
                              phases=[Phase.explicit, Phase.generate],
                              suppress_health_check=list(HealthCheck))


def run(examples: int, seed: int) -> dict[str, Any]:
    import pytest

    timing = Timing(seed)
    _register_profile(examples)
    start = cpu_now()
    code = pytest.main([TEST, "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                        f"--hypothesis-profile={PROFILE}"], plugins=[timing])
    total = cpu_now() - start
    costs = {c.stage: c.cpu_seconds for c in timing.clock.costs()}
    call, body = costs.pop(CALL, 0.0), costs.pop(BODY, 0.0)
    parts = {"Hypothesis (engine + drawing)": call - body, **costs,
             "glue (keeper, loop, calls)": body - sum(costs.values())}
    n = max(timing.examples - 1, 1)
    ours = sum(v for k, v in parts.items() if ASSEMBLERS not in k)
    return {"benchmark": "fuzz_property_cost", "commit": project_commit(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(), "load_average": list(os.getloadavg()),
            "seed": seed, "exit_code": int(code), "examples": timing.examples,
            "session_cpu_s": total, "call_cpu_s": call,
            "call_cpu_ms_per_example": 1e3 * call / n,
            "without_assemblers_cpu_ms_per_example": 1e3 * ours / n,
            "parts_cpu_ms_per_example": {k: 1e3 * v / n for k, v in parts.items()}}


def table(result: dict[str, Any]) -> str:
    lines = [(f"property (a) under pytest: {result['examples']} examples (explicit ones "
              f"included, the first untimed), exit {result['exit_code']}; session "
              f"{result['session_cpu_s']:.2f} CPU s, call phase "
              f"{result['call_cpu_ms_per_example']:.2f} CPU ms/example, of which without the "
              f"assemblers' share {result['without_assemblers_cpu_ms_per_example']:.2f}"),
             f"  {'part':<44} {'CPU ms/example':>14}"]
    for part, ms in result["parts_cpu_ms_per_example"].items():
        lines.append(f"  {part:<44} {ms:>14.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    args, _ = p.parse_known_args(sys.argv[1:] if argv is None else argv)
    result = run(args.examples, args.seed)
    print(table(result))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"json: {args.json}")
    return 0 if result["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
