"""`build_report`: one self-contained HTML page (figures inlined as PNG data URIs) for corpus
replays and hunts.

Inputs are what the other commands write: `corpus replay --json FILE` results (one file per
linker), and hunt directories (`linkharness hunt --dest DIR`: campaign records
`hunt-*.json` and case directories with `triage.json`).  The page holds

- a table of results per linker and the relocation flavour x linker matrix;
- every replay result that is not a plain pass (fail, known, fixed, error), with its detail;
- per hunt: the coverage labels hit and the examples and findings over time;
- every found case with its triage: which linkers agree with the model, the first differing
  check, flavours and symbol kinds, the disassembly around the failing site, and the
  commands that reproduce it.

A small script writes `<div id="figures-loaded" data-loaded=N data-total=M>` once the page's
images have loaded (N counts those with a natural width), so a headless browser can tell
that the page rendered with its figures.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.corpus import find_cases, load_case
from oracle.corpus.model import CaseFormatError
from oracle.hunt.triage import load_triage, relocation_flavours
from oracle.json_file import read_json

from .figures import RESULT_STYLE, coverage_figure, matrix_figure, timeline_figure

LINKER_ORDER = ("linkharness", "bfd", "gold", "lld", "mold", "ld64.lld")


@dataclass
class ReportData:
    """Everything the page shows, gathered from files."""

    results: list[dict[str, Any]] = field(default_factory=list)  # replay results
    flavours: dict[str, dict[str, int]] = field(default_factory=dict)  # case -> flavours
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    triages: list[dict[str, Any]] = field(default_factory=list)


def gather(replays: Iterable[Path], hunts: Iterable[Path], corpus: Path | None) -> ReportData:
    data = ReportData()
    for path in replays:
        loaded = read_json(path)
        data.results.extend(r for r in loaded if isinstance(r, dict))
    if corpus is not None:
        for case_dir in find_cases(corpus):
            try:
                data.flavours[case_dir.name] = relocation_flavours(
                    load_case(case_dir).input_paths())
            except CaseFormatError:
                continue
    for hunt in hunts:
        for record in sorted(hunt.glob("hunt-*.json")):
            data.campaigns.append(read_json(record))
        for case_dir in find_cases(hunt):
            triage = load_triage(case_dir)
            if triage is not None:
                data.triages.append(triage)
                data.flavours.setdefault(triage["case"], triage["relocation_flavours"])
    data.campaigns.sort(key=lambda c: str(c.get("started", "")))
    return data


def _cells(data: ReportData) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """The matrix: (flavours, linkers, worst result per cell), from replays and triages."""
    outcomes = [(r["case"], r["linker"], r["status"]) for r in data.results]
    for t in data.triages:
        # a run that passes but breaks a checker or field rule still disagrees
        checks = t.get("checks", {})
        outcomes += [(t["case"], name, "fail" if checks.get(name) else row["status"])
                     for name, row in t["linkers"].items()]
    cells: dict[tuple[str, str], str] = {}
    for case, linker, status in outcomes:
        for flavour in data.flavours.get(case, {}):
            now = cells.get((flavour, linker), "n/a")
            if RESULT_STYLE.get(status, (0, ""))[0] > RESULT_STYLE[now][0]:
                cells[(flavour, linker)] = status
    linkers = [li for li in LINKER_ORDER if any(k[1] == li for k in cells)]
    linkers += sorted({k[1] for k in cells} - set(linkers))
    flavours = sorted({k[0] for k in cells})
    return flavours, linkers, cells


def _img(png: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}">')


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = ["<table><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _badge(status: str) -> str:
    colour = RESULT_STYLE.get(status, (0, "#ddd"))[1]
    return f'<span class="badge" style="background:{colour}">{html.escape(status)}</span>'


def _counts(results: Sequence[Mapping[str, Any]]) -> str:
    per: dict[str, dict[str, int]] = {}
    versions: dict[str, str] = {}
    for r in results:
        per.setdefault(r["linker"], {}).setdefault(r["status"], 0)
        per[r["linker"]][r["status"]] += 1
        versions[r["linker"]] = r.get("version") or ""
    rows = [[html.escape(f"{li} {versions[li]}"),
             *(str(per[li].get(s, 0)) for s in ("pass", "fail", "known", "fixed", "n/a"))]
            for li in sorted(per, key=lambda n: (n not in LINKER_ORDER, n))]
    return _table(["linker", "pass", "fail", "known", "fixed", "n/a"], rows)


def _finding(t: Mapping[str, Any]) -> str:
    pre = html.escape
    rows = [[pre(n), _badge(r["status"]), pre(r.get("version") or ""), pre(r["detail"])]
            for n, r in t["linkers"].items()]
    flavours = ", ".join(f"{k} x{v}" for k, v in t["relocation_flavours"].items())
    kinds = ", ".join(f"{k} x{v}" for k, v in t["symbol_kinds"].items())
    return "".join([
        f'<section class="finding"><h3>{pre(t["case"])}</h3>',
        (f"<p><b>subject</b> {pre(t['subject'])} {pre(t.get('subject_version') or '')}; "
        f"<b>target</b> {pre(t['target'])}; <b>property</b> {pre(t['property'])}</p>"),
        f"<p><b>first differing check</b>: <code>{pre(t['first_difference'])}</code></p>",
        (f"<p><b>agree with the model</b>: {pre(', '.join(t['agree_with_model']) or 'none')}"
        f"; <b>disagree</b>: {pre(', '.join(t['disagree_with_model']) or 'none')}</p>"),
        _table(["linker", "result", "version", "detail"], rows),
        _checks(t.get("checks", {})),
        f"<p><b>relocation flavours</b>: {pre(flavours or 'none')}</p>",
        f"<p><b>symbol kinds</b>: {pre(kinds or 'none')}</p>",
        f"<h4>disassembly ({pre(t['subject'])})</h4><pre>{pre(t['disassembly'])}</pre>",
        f"<h4>reproduce</h4><pre>{pre(chr(10).join(t['reproduce']))}</pre></section>",
    ])


def _checks(checks: Mapping[str, Sequence[str]]) -> str:
    """The checker's and field oracle's findings on each linker's output of the case."""
    if not checks:
        return ""
    rows = [[html.escape(name), html.escape("; ".join(found) or "none")]
            for name, found in checks.items()]
    return "<h4>checker and field oracle on each output</h4>" + _table(
        ["linker", "problems"], rows)


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 70em; }
table { border-collapse: collapse; margin: .5em 0; font-size: 90%; }
td, th { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; font-size: 80%; }
.badge { padding: 0 6px; border-radius: 3px; }
.finding { border-top: 2px solid #888; margin-top: 1em; }
"""
_LOADED_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var mark = document.createElement('div');
  mark.id = 'figures-loaded';
  mark.setAttribute('data-loaded', String(ok));
  mark.setAttribute('data-total', String(imgs.length));
  mark.textContent = 'figures loaded: ' + ok + ' of ' + imgs.length;
  document.body.appendChild(mark);
});
"""


def render(data: ReportData, title: str = "linkharness report") -> str:
    parts = [(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style><script>{_LOADED_SCRIPT}</script></head><body>"),
             f"<h1>{html.escape(title)}</h1>"]
    if data.results:
        parts += ["<h2>Corpus replays</h2>", _counts(data.results)]
    flavours, linkers, cells = _cells(data)
    if cells:
        parts += ["<h2>Relocation flavour x linker</h2>",
                  _img(matrix_figure(flavours, linkers, cells), "flavour x linker matrix")]
    notable = [r for r in data.results if r["status"] not in ("pass", "n/a")]
    if notable:
        rows = [[html.escape(r["case"]), html.escape(r["linker"]), _badge(r["status"]),
                 html.escape(r.get("summary") or "")] for r in notable]
        parts += ["<h2>Replay results other than pass</h2>",
                  _table(["case", "linker", "result", "detail"], rows)]
    for c in data.campaigns:
        parts += [(f"<h2>Hunt: {html.escape(str(c['subject']))} "
                  f"{html.escape(str(c.get('subject_version') or ''))}</h2>"),
                  (f"<p>started {html.escape(str(c['started']))}, {c['examples']} examples in "
                  f"{c['elapsed']} s, {len(c['cases'])} case(s) found; properties: "
                  f"{html.escape(', '.join(c['properties']))}</p>"),
                  _img(coverage_figure(c.get("coverage", {}), c["examples"]),
                       "coverage labels")]
    if data.campaigns:
        points = [(str(c["started"]), int(c["examples"]), len(c["cases"]))
                  for c in data.campaigns]
        parts += ["<h2>Over time</h2>", _img(timeline_figure(points), "examples over time")]
    if data.triages:
        parts += ["<h2>Found cases</h2>", *(_finding(t) for t in data.triages)]
    parts.append("</body></html>")
    return "\n".join(parts)
