"""bench/small_links.py at a tiny size: the same draw gives the same outputs, and the line
it prints has the per-link figure and the digest."""

from __future__ import annotations

import re

import pytest

from bench import small_links


def test_two_runs_of_the_same_draw_write_the_same_bytes(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    digests = []
    for _ in range(2):
        assert small_links.main(["--examples", "3", "--rounds", "1", "--seed", "5"]) == 0
        line = capsys.readouterr().out
        m = re.search(r"^3 examples of property \(a\), 1 rounds: ([0-9.]+) ms CPU per link"
                      r".*outputs sha256 ([0-9a-f]{16})$", line.strip())
        assert m is not None, line
        assert float(m.group(1)) > 0
        digests.append(m.group(2))
    assert digests[0] == digests[1]
