"""Known disagreements: a case may record that a named linker, at a named version, is known
to get it wrong, and why, in one line (`"known": {"mold": "1.10.1 sizes a COMMON symbol by
its first declaration"}`).

The reason's first word is the version it was seen with.  It applies to the installed linker
when the version that linker's `--version` prints is that version, or starts with it and a
dot (`"1.10"` covers 1.10.0 and 1.10.1): so a reason names the releases it was confirmed on,
and a new release is judged afresh.  A replay then turns the linker's result into

- KNOWN: the case fails as recorded (not a regression: exit status 0);
- FIXED: the case now passes although a known entry applies (the entry can go);
- FAIL: the case fails and no entry applies (a new disagreement, or an old one on a release
  nobody confirmed: it is news either way).
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Mapping

# A version: digits separated by dots ("1.10.1", "2.40", "14.0.6").
_VERSION = re.compile(r"\b(\d+(?:\.\d+)+)\b")


class KnownFormatError(ValueError):
    """A `known` entry whose reason does not start with a version."""


def reason_version(reason: str) -> str:
    """The version a known reason was confirmed on: its first word."""
    first = reason.split(maxsplit=1)[0] if reason.strip() else ""
    if not _VERSION.fullmatch(first):
        raise KnownFormatError(
            f"a known reason must start with the linker version it was seen with "
            f"(e.g. '1.10.1 sizes ...'), not {reason!r}")
    return first


def version_matches(wanted: str, installed: str | None) -> bool:
    """True when `installed` is the release `wanted` names (or one of its point releases)."""
    if installed is None:
        return False
    return installed == wanted or installed.startswith(wanted + ".")


def parse_version_output(text: str) -> str | None:
    """The version in a linker's `--version` output: the first dotted number on its first
    line ("mold 1.10.1 (compatible with GNU ld)", "GNU ld (GNU Binutils for Debian) 2.40",
    "GNU gold (GNU Binutils for Debian 2.40) 1.16" -> the last, gold's own; "Debian LLD
    14.0.6")."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if first.startswith("GNU gold"):
        # gold prints the binutils release in parentheses and its own version after them.
        first = first.rsplit(")", 1)[-1]
    else:
        first = re.sub(r"\([^)]*\)", " ", first)
    found = _VERSION.search(first)
    return found.group(1) if found else None


@functools.cache
def installed_version(executable: str) -> str | None:
    """`executable --version`'s version, or None when it does not run."""
    try:
        proc = subprocess.run([executable, "--version"], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version_output(proc.stdout or proc.stderr)


def applicable_reason(known: Mapping[str, str], linker: str,
                      version: str | None) -> str | None:
    """The case's known reason for `linker` if it applies to `version`, else None."""
    reason = known.get(linker)
    if reason is None or not version_matches(reason_version(reason), version):
        return None
    return reason
