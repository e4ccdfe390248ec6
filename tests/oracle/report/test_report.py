"""`linkharness report`: the page renders in a real headless browser (Debian's chromium)
with every figure loaded, and shows the matrix, the known results and a hunt's finding."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from oracle.corpus import default_corpus_dir, load_case, replay_case
from oracle.corpus.replay import result_to_json
from oracle.hunt.triage import triage_case
from oracle.report.cli import main as report_main

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--virtual-time-budget=5000"]
CASE = default_corpus_dir() / "asm-i386-got32x-no-base"


def _browser(args: list[str], page: Path) -> str:
    assert shutil.which("chromium"), "Debian chromium is needed (.ci/system-deps installs it)"
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", *args,
                               page.as_uri()], capture_output=True, text=True, timeout=120,
                              check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of two linkers' replays of one case, and a hunt that found it."""
    tmp = tmp_path_factory.mktemp("report")
    corpus = tmp / "corpus"
    shutil.copytree(CASE, corpus / CASE.name)
    case = load_case(corpus / CASE.name)
    replays = tmp / "replays.json"
    replays.write_text(json.dumps([result_to_json(replay_case(case, linker))
                                   for linker in ("linkharness", "mold")]))
    hunt = tmp / "hunt"
    shutil.copytree(CASE, hunt / "hunt-mold-i386-test")
    data = json.loads((hunt / "hunt-mold-i386-test" / "case.json").read_text())
    data["id"] = "hunt-mold-i386-test"
    (hunt / "hunt-mold-i386-test" / "case.json").write_text(json.dumps(data))
    triage_case(hunt / "hunt-mold-i386-test", "mold", "1.10.1", "i386", "emulated: fault")
    (hunt / "hunt-mold-20260101T000000Z.json").write_text(json.dumps({
        "subject": "mold", "subject_version": "1.10.1", "seconds": 1, "properties": ["p"],
        "started": "2026-01-01T00:00:00Z", "pytest_exit": 1, "examples": 12,
        "coverage": {"call:plt": 7, "data:global:common": 3}, "cases": ["hunt-mold-i386-test"],
        "failures": [], "elapsed": 1.0}))
    out = tmp / "report.html"
    assert report_main(["-o", str(out), "--replay", str(replays), "--hunt", str(hunt),
                        "--corpus", str(corpus)]) == 0
    return out


def test_the_page_is_self_contained_and_shows_the_findings(page: Path) -> None:
    text = page.read_text()
    assert "src=\"data:image/png;base64," in text and "http" not in text.split("<body>")[1]
    assert "known: 1.10.1 computes a no-base R_386_GOT32X" in text  # mold's replay: KNOWN
    assert "hunt-mold-i386-test" in text and "first differing check" in text
    assert "linkharness corpus replay" in text  # the commands that reproduce it
    assert re.search(r"&lt;_start&gt;|_start", text) and "<pre>" in text


def test_chromium_renders_the_page_and_loads_every_figure(page: Path) -> None:
    dom = _browser(["--dump-dom"], page)
    mark = re.search(r'id="figures-loaded" data-loaded="(\d+)" data-total="(\d+)"', dom)
    assert mark, dom[-1000:]
    loaded, total = int(mark[1]), int(mark[2])
    assert total == 3 and loaded == total  # matrix, coverage, over time


def test_the_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    _browser([f"--screenshot={shot}", "--window-size=1200,1400"], page)
    image = Image.open(shot).convert("RGB")
    colours = [rgb for _, rgb in image.getcolors(maxcolors=1 << 24) or []
               if isinstance(rgb, tuple)]
    assert len(colours) > 50  # text, tables and coloured figures, not one blank colour
    # the matrix draws mold's cell in the 'known' amber (#ffb300)
    assert any(abs(r - 0xff) < 8 and abs(g - 0xb3) < 8 and b < 16 for r, g, b in colours)
