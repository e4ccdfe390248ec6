"""`linkharness report`: a self-contained HTML page for corpus replays and hunts.

    linkharness report [-o report.html] [--replay FILE.json ...] [--hunt DIR ...]
                       [--corpus DIR] [--replay-linkers bfd,gold,...]

`--replay` reads `corpus replay --json` results; without any, the corpus is replayed here
with every linker in `--replay-linkers` (default: all six).  `--hunt` reads a hunt's
destination directory (campaign records and triaged cases).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from oracle.corpus import default_corpus_dir, find_cases, load_case, replay_case
from oracle.corpus.model import CaseFormatError
from oracle.corpus.replay import result_to_json
from oracle.corpus.toolchain import LINKERS
from oracle.json_file import JsonFileError

from .build import gather, render


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="linkharness report",
                                     description="an HTML report of replays and hunts")
    parser.add_argument("-o", "--output", default="report.html")
    parser.add_argument("--replay", action="append", default=[], metavar="FILE",
                        help="results of `corpus replay --json FILE` (repeatable)")
    parser.add_argument("--hunt", action="append", default=[], metavar="DIR",
                        help="a hunt's --dest directory (repeatable)")
    parser.add_argument("--corpus", default=None, help="corpus directory (default: corpus/)")
    parser.add_argument("--replay-linkers", default=",".join(LINKERS),
                        help="linkers to replay the corpus with when no --replay is given "
                             "('' for none)")
    parser.add_argument("--title", default="linkharness report")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    corpus = Path(args.corpus) if args.corpus else default_corpus_dir()
    replays = [Path(p) for p in args.replay]
    with tempfile.TemporaryDirectory(prefix="report-") as tmp:
        if not replays and args.replay_linkers:
            replays = [_replay_all(corpus, args.replay_linkers.split(","), Path(tmp))]
        try:
            data = gather(replays, [Path(h) for h in args.hunt], corpus)
        except (JsonFileError, OSError) as e:
            print(f"linkharness report: {e}", file=sys.stderr)
            return 1
    Path(args.output).write_text(render(data, args.title), encoding="utf-8")
    print(args.output)
    return 0


def _replay_all(corpus: Path, linkers: Sequence[str], tmp: Path) -> Path:
    results = []
    for case_dir in find_cases(corpus):
        try:
            case = load_case(case_dir)
        except CaseFormatError:
            continue
        for linker in linkers:
            results.append(result_to_json(replay_case(case, linker.strip())))
    out = tmp / "replays.json"
    out.write_text(json.dumps(results), encoding="utf-8")
    return out
