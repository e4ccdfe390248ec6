"""Triage of a found case: which linkers agree with the model and which do not, the first
differing check, the relocation flavours and symbol kinds involved, the subject's version,
the disassembly around the failing site, and the commands that reproduce it.

The record is `triage.json` beside the case's `case.json` (the case format stays strict:
the triage describes a finding, it is not part of what the case checks).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from oracle.corpus import Case, load_case, replay_case
from oracle.corpus.replay import NOT_APPLICABLE, PASS, CaseResult
from oracle.corpus.toolchain import LINKERS, links_target
from oracle.json_file import read_json

TRIAGE_FILE = "triage.json"
OBJDUMP = "llvm-objdump-14"
NM = "llvm-nm-14"
# llvm-nm's type letters -> the symbol kind they name (upper case: global, lower: local)
_NM_KINDS = {"U": "undefined", "C": "common", "W": "weak", "V": "weak object",
             "A": "absolute", "T": "text", "D": "data", "B": "bss", "R": "read-only data",
             "S": "other section", "I": "indirect"}
_ADDRESS = re.compile(r"\b0x([0-9a-fA-F]{3,16})\b")


def relocation_flavours(paths: Sequence[Path]) -> dict[str, int]:
    """How many relocations of each type the input objects hold (ELF or Mach-O)."""
    counts: Counter[str] = Counter()
    for path in paths:
        if path.suffix != ".o":
            continue
        text = _tool([OBJDUMP, "-r", str(path)])
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 2 and re.fullmatch(r"[0-9a-fA-F]+", words[0]) and (
                    words[1].startswith(("R_", "X86_64_RELOC_", "GENERIC_RELOC_"))):
                counts[words[1]] += 1
    return dict(sorted(counts.items()))


def symbol_kinds(paths: Sequence[Path]) -> dict[str, int]:
    """How many symbols of each kind (binding and where defined) the input objects hold."""
    counts: Counter[str] = Counter()
    for path in paths:
        if path.suffix != ".o":
            continue
        for line in _tool([NM, str(path)]).splitlines():
            words = line.split()
            letter = words[-2] if len(words) >= 2 and len(words[-2]) == 1 else ""
            kind = _NM_KINDS.get(letter.upper())
            if kind is None:
                continue
            weak = letter.upper() in "WV"
            scope = "weak" if weak else ("global" if letter.isupper() or letter == "U"
                                         else "local")
            if weak and letter.islower():
                kind = "undefined"
            counts[f"{scope} {kind}"] += 1
    return dict(sorted(counts.items()))


def _tool(command: list[str]) -> str:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout


def disassembly_around(exe: Path, lines: Sequence[str], before: int = 24,
                       after: int = 40) -> str:
    """The subject's output disassembled around the first address a failure names (a
    fault's pc, a field's address), or its entry function when none is named."""
    if not exe.is_file():
        return ""
    for line in lines:
        found = _ADDRESS.search(line)
        if found:
            at = int(found.group(1), 16)
            text = _tool([OBJDUMP, "-d", "--no-show-raw-insn",
                          f"--start-address={max(at - before, 0):#x}",
                          f"--stop-address={at + after:#x}", str(exe)])
            body = _instructions(text)
            if body:
                return f"around {at:#x}:\n{body}"
    text = _tool([OBJDUMP, "-d", "--no-show-raw-insn", "--disassemble-symbols=_start",
                  str(exe)])
    body = _instructions(text)
    return f"_start (no address named):\n{body}" if body else ""


def _instructions(text: str, limit: int = 40) -> str:
    keep = [line for line in text.splitlines() if re.match(r"^\s*[0-9a-f]+:", line)
            or line.endswith(">:")]
    return "\n".join(keep[:limit])


def triage_case(case_dir: Path, subject: str, subject_version: str | None, prop: str,
                failure: str, linkers: Sequence[str] = LINKERS) -> dict[str, Any]:
    """Replay the case with every linker that links its target, and write triage.json."""
    case = load_case(case_dir)
    results: dict[str, CaseResult] = {}
    checks: dict[str, list[str]] = {}
    subject_exe = Path()
    with tempfile.TemporaryDirectory(prefix="triage-") as tmp:
        for name in linkers:
            if not links_target(name, case.target):
                continue
            results[name] = replay_case(case, name, Path(tmp) / name, honour_known=False)
            exe = Path(tmp) / name / f"{case.id}.{name}.out"
            if exe.is_file() and not case.expect.is_error_case:
                checks[name] = output_checks(exe, case)
        if subject in results:
            subject_exe = Path(tmp) / subject / f"{case.id}.{subject}.out"
            lines = [failure, *results[subject].details]
            disasm = _subject_disassembly(case, subject, subject_exe, lines)
        else:
            disasm = ""
    record = {
        "case": case.id,
        "target": case.target,
        "subject": subject,
        "subject_version": subject_version,
        "property": prop,
        "first_difference": failure,
        "linkers": {n: {"status": r.status, "version": r.version, "detail": r.summary()}
                    for n, r in results.items()},
        "checks": checks,
        "agree_with_model": [n for n, r in results.items()
                             if r.status == PASS and not checks.get(n)],
        "disagree_with_model": [n for n, r in results.items()
                                if r.status not in (PASS, NOT_APPLICABLE) or checks.get(n)],
        "relocation_flavours": relocation_flavours(case.input_paths()),
        "symbol_kinds": symbol_kinds(case.input_paths()),
        "disassembly": disasm,
        "reproduce": reproduce_commands(case, subject, prop),
    }
    (case_dir / TRIAGE_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def output_checks(exe: Path, case: Case, limit: int = 5) -> list[str]:
    """What the structural checker and the relocation-field oracle say about one linker's
    output (the replay judges only what the program does)."""
    from oracle.check import check
    from oracle.relocs import check_fields

    problems = [f"oracle.check: {v}" for v in check(exe)]
    objects = [str(p) for p in case.input_paths() if p.suffix == ".o"]
    try:
        problems += [f"relocation field: {m}" for m in check_fields(str(exe), objects)]
    except Exception as e:  # noqa: BLE001 - an oracle that cannot judge is reported, not fatal
        problems.append(f"relocation field oracle could not judge: {type(e).__name__}: {e}")
    return problems[:limit]


def _subject_disassembly(case: Case, subject: str, exe: Path, lines: Sequence[str]) -> str:
    return disassembly_around(exe, lines) if exe.is_file() else \
        f"({subject} left no output: the link was refused)"


def reproduce_commands(case: Case, subject: str, prop: str) -> list[str]:
    where = case.directory
    return [
        f"linkharness corpus replay {where} --linker {subject}",
        *(f"linkharness corpus replay {where} --linker {n}" for n in ("bfd", "linkharness")
          if n != subject and links_target(n, case.target)),
        (f"FUZZ_KEEP=hunt-cases pytest fuzz/ --subject={subject} --hypothesis-profile=fuzz "
        f"-k {prop!r}"),
    ]


def load_triage(case_dir: Path) -> dict[str, Any] | None:
    path = case_dir / TRIAGE_FILE
    if not path.is_file():
        return None
    data = read_json(path)
    return data if isinstance(data, dict) else None
