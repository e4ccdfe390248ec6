"""A fuzz campaign's example database: LINKHARNESS_FUZZ_DB=redis://HOST:PORT shares it
through a real redis-server, so a failure one process finds is replayed by another; without
the variable, a local directory database is used."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.extra.redis import RedisExampleDatabase

from fuzz.database import DB_ENV, example_database

REPO = Path(__file__).resolve().parents[1]
# One fuzz process: "search" draws examples until the property fails (Hypothesis shrinks
# the failure and saves it in the database); "replay" only replays what the database holds.
WORKER = '''
import sys
import unittest
from hypothesis import Phase, given, settings, strategies as st
from fuzz.database import example_database

phases = [Phase.reuse] if sys.argv[1] == "replay" else list(Phase)

@settings(database=example_database(), phases=phases, max_examples=500, deadline=None)
@given(st.integers(0, 10**6))
def field_fits(value):
    assert value < 1000, f"field value {value} does not fit"

try:
    field_fits()
except AssertionError as failure:
    print("FAILED:", failure)
except unittest.SkipTest:  # replay only, and the database holds nothing for this property
    print("NOTHING TO REPLAY")
else:
    print("PASSED")
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own on a loopback port, stopped afterwards."""
    server = shutil.which("redis-server")
    assert server, "Debian redis-server is needed (.ci/system-deps installs it)"
    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _fuzz(mode: str, db: str, workdir: Path) -> str:
    env = {**os.environ, DB_ENV: db, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", WORKER, mode], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_two_fuzz_processes_share_a_failure_through_redis(redis_url: str,
                                                          tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # A machine with a database of its own replays nothing, so it sees no failure...
    assert _fuzz("replay", str(tmp_path / "b" / "local-db"), tmp_path / "b") == \
        "NOTHING TO REPLAY"
    # ...one process finds and shrinks a failure (saved in Redis)...
    found = _fuzz("search", redis_url, tmp_path / "a")
    assert found == "FAILED: field value 1000 does not fit"
    # ...and a separate process, elsewhere, replays exactly that failure from Redis alone.
    assert _fuzz("replay", redis_url, tmp_path / "b") == found


def test_the_variable_selects_the_database(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    assert isinstance(example_database(), DirectoryBasedExampleDatabase)
    assert isinstance(example_database(str(tmp_path)), DirectoryBasedExampleDatabase)
    assert isinstance(example_database("redis://127.0.0.1:1/0"), RedisExampleDatabase)
