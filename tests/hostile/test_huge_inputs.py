"""A file of gigabytes that costs nothing to make: a valid object or executable extended
to 5 GiB with a hole (a sparse file).  `linkharness check` once read it whole and scanned
it for zero runs: 50 s and 5 GB of memory.  The judges now refuse a file past
ORACLE_FILE_LIMIT as one finding (check: an ELF-PARSE violation; check_fields: one
`unreadable` mismatch naming it; run: a load fault), quickly and without reading it; the
linker, which maps its inputs and reads only what the headers point at, links it as GNU
ld does."""

from __future__ import annotations

import resource
import subprocess
import time
from pathlib import Path

import pytest

from linker import link
from oracle.check import check
from oracle.emulate import run
from oracle.regular_file import ORACLE_FILE_LIMIT
from oracle.relocs import check_fields

HUGE = 5 << 30


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("huge")
    (work / "m.c").write_text("int main(void) { return 7; }\n")
    subprocess.run(["gcc", "-c", "-o", str(work / "m.o"), str(work / "m.c")], check=True)
    subprocess.run(["gcc", "-o", str(work / "m"), str(work / "m.o")], check=True)
    for name in ("m.o", "m"):
        big = work / f"huge-{name}"
        big.write_bytes((work / name).read_bytes())
        with big.open("r+b") as f:
            f.truncate(HUGE)  # a hole: no disk, no memory
    return {"object": work / "huge-m.o", "exe": work / "huge-m", "small": work / "m.o"}


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10


def test_judges_refuse_a_sparse_file_of_gigabytes(made: dict[str, Path]) -> None:
    assert HUGE > ORACLE_FILE_LIMIT
    before, start = _peak(), time.process_time()
    violations = check(made["exe"])
    assert [v.rule for v in violations] == ["ELF-PARSE"]
    assert f"{HUGE} bytes" in violations[0].what
    mismatches = check_fields(str(made["exe"]), [str(made["small"])])
    assert [(m.kind, m.file) for m in mismatches] == [("unreadable", str(made["exe"]))]
    mismatches = check_fields(str(made["exe"].parent / "m"), [str(made["object"])])
    assert [(m.kind, m.file) for m in mismatches] == [("unreadable", str(made["object"]))]
    result = run(made["exe"], timeout=1.0, memory_cap=32 << 20)
    assert result.exit_code is None and "larger than" in str(result.faults)
    assert time.process_time() - start < 5.0
    assert _peak() - before < 64 << 20


def test_linker_links_a_sparse_object(made: dict[str, Path], tmp_path: Path) -> None:
    before = _peak()
    link([made["object"]], tmp_path / "a.out", entry="main")
    assert (tmp_path / "a.out").stat().st_size < 1 << 20
    assert _peak() - before < 256 << 20


@pytest.mark.parametrize("content", [b"\xff\xfe", b"[" * 100_000, b'{"sections": 5}', b"[1]",
                                     (b'{"sections": [{"file": "m.o", "index": "x", '
                                     b'"address": 1}]}'), None])
def test_field_oracle_reads_a_hostile_link_map(content: bytes | None, made: dict[str, Path],
                                               tmp_path: Path) -> None:
    """`check_fields(..., link_map=)` once raised on a map that was not its JSON (a
    RecursionError, TypeError, ValueError...) and read /dev/zero until memory ran out: a
    map is an input too, and a bad one is one `unreadable` mismatch naming it."""
    hostile = "/dev/zero" if content is None else str(tmp_path / "map.json")
    if content is not None:
        Path(hostile).write_bytes(content)
    exe, obj = made["exe"].parent / "m", made["small"]
    found = check_fields(str(exe), [str(obj)], link_map=hostile)
    assert [(m.kind, m.file) for m in found] == [("unreadable", hostile)]
