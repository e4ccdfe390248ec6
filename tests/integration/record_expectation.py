"""Fill in a new program's expectation from its GNU ld build: a tool, not a test.

    .venv/bin/python tests/integration/record_expectation.py NAME [NAME...]

builds each named program in its first variant (gcc-O0 unless the program lists its own),
links it with GNU ld, runs it, and writes the observed stdout, exit status (and stderr, if
the JSON has a "stderr" key) into its expect.json.  Read what it prints before committing: the expectation is only as right as
the program, and test_programs.py then holds every variant and both linkers to it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from program_build import DEFAULT_VARIANTS, VARIANTS, build_objects
from program_spec import ProgramSpec, load_programs


def expectation_path(spec: ProgramSpec) -> Path:
    if spec.directory.name == spec.name:
        return spec.directory / "expect.json"
    return spec.directory / f"{spec.name}.expect.json"


def record(spec: ProgramSpec, root: Path) -> str:
    built = build_objects(spec, VARIANTS[spec.variants[0]], root)
    result = built.run(built.link("gnu-ld", ""))
    path = expectation_path(spec)
    data = json.loads(path.read_text())
    data["stdout"] = result.stdout
    data["exit"] = result.exit
    if "stderr" in data:
        data["stderr"] = result.stderr
    path.write_text(json.dumps(data, indent=1) + "\n")
    return f"== {spec.name}: exit {result.exit}\n{result.stdout}{result.stderr}"


def main(names: list[str]) -> int:
    specs = {spec.name: spec for spec in load_programs(DEFAULT_VARIANTS)}
    unknown = [n for n in names if n not in specs]
    if unknown or not names:
        print(f"usage: record_expectation.py NAME...; unknown: {unknown}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as root:
        for name in names:
            print(record(specs[name], Path(root)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
