"""The subject: the linker the fuzz properties judge in linkharness's seat.

`pytest fuzz/ --subject=NAME` (or `linkharness hunt --subject NAME`) puts another linker
where the properties link with linkharness, so the model, the checker, the field oracle and
the emulator judge it instead: `linkharness` (the default), `bfd`, `gold`, `lld`, `mold`,
`ld64.lld` (Mach-O x86-64), or `cmd` with `--subject-cmd 'PATH {args}'`, a linker under
development given GNU ld's command line in place of `{args}`.

The choice travels in the environment (LINKHARNESS_SUBJECT, LINKHARNESS_SUBJECT_CMD), so
every pytest worker and every subprocess sees the same subject.  The pipelines ask
`active()` and hand their link to `link_elf` / `link_macho`; a refusal raises LinkError
(linker's public exception) with the linker's diagnostics, as linkharness would raise it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from linker import LinkError
from oracle.reference import link_reference

SUBJECT_ENV = "LINKHARNESS_SUBJECT"
SUBJECT_CMD_ENV = "LINKHARNESS_SUBJECT_CMD"
# Checker rules the hunt is told to let pass for the subject (comma-separated rule ids),
# so that a known structural habit of a linker (gold's zero-fill) does not stop every
# property at its first example and hide what else there is to find.
SUBJECT_ALLOW_ENV = "LINKHARNESS_SUBJECT_ALLOW"
SUBJECTS = ("linkharness", "bfd", "gold", "lld", "mold", "ld64.lld", "cmd")
ELF_SUBJECTS = ("linkharness", "bfd", "gold", "lld", "mold", "cmd")
MACHO_SUBJECTS = ("linkharness", "ld64.lld")
_LD64 = ["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9", "11.0"]
_TIMEOUT = 120


def name() -> str:
    """The subject's name (linkharness when none was chosen)."""
    return os.environ.get(SUBJECT_ENV) or "linkharness"


def active() -> bool:
    """True when a linker other than linkharness sits in the subject's seat."""
    return name() != "linkharness"


def links_elf() -> bool:
    return name() in ELF_SUBJECTS


def links_macho() -> bool:
    return name() in MACHO_SUBJECTS


def allowed_rules() -> frozenset[str]:
    """The checker rules allowed to the subject (never to linkharness itself)."""
    if not active():
        return frozenset()
    return frozenset(r for r in os.environ.get(SUBJECT_ALLOW_ENV, "").split(",") if r)


def choose(subject: str, command: str | None = None, allow: Sequence[str] = ()) -> None:
    """Set the subject for this process and its children (the conftest's --subject)."""
    if subject not in SUBJECTS:
        raise ValueError(f"unknown subject {subject!r} (choose from {', '.join(SUBJECTS)})")
    if subject == "cmd" and not command:
        raise ValueError("--subject cmd needs --subject-cmd 'PATH {args}'")
    os.environ[SUBJECT_ENV] = subject
    if command:
        os.environ[SUBJECT_CMD_ENV] = command
    if allow:
        os.environ[SUBJECT_ALLOW_ENV] = ",".join(allow)


def gnu_ld_args(objects: Sequence[str], libs: Sequence[str], output: Path, *, m32: bool,
                entry: str, dynamic_linker: str, bind_now: bool) -> list[str]:
    """The GNU ld command line (after the program name) a `cmd` subject is given."""
    args = ["-m", "elf_i386" if m32 else "elf_x86_64", "-o", str(output), "-e", entry]
    if libs:
        args += ["-dynamic-linker", dynamic_linker]
    if bind_now:
        args += ["-z", "now"]
    return [*args, *objects, *libs]


def _run_command(template: str, args: Sequence[str]) -> tuple[int, str]:
    words = shlex.split(template)
    if "{args}" in words:
        at = words.index("{args}")
        words = [*words[:at], *args, *words[at + 1:]]
    else:
        words = [*words, *args]
    try:
        proc = subprocess.run(words, capture_output=True, text=True, timeout=_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, str(e)
    return proc.returncode, proc.stderr.strip()


def link_elf(objects: Sequence[str | Path], libs: Sequence[str], output: Path, *, m32: bool,
             entry: str, dynamic_linker: str, bind_now: bool) -> None:
    """Link an ELF program with the subject (raises LinkError with its diagnostics)."""
    subject = name()
    paths = [str(o) for o in objects]
    if subject == "cmd":
        args = gnu_ld_args(paths, libs, output, m32=m32, entry=entry,
                           dynamic_linker=dynamic_linker, bind_now=bind_now)
        code, stderr = _run_command(os.environ.get(SUBJECT_CMD_ENV, ""), args)
        ok = code == 0 and output.exists()
    elif subject in ELF_SUBJECTS:
        result = link_reference(subject, paths, str(output), libs=libs, entry=entry,
                                bind_now=bind_now, m32=m32)
        ok, stderr = result.ok, result.stderr.strip()
    else:
        raise LinkError(f"subject {subject} does not link ELF")
    if not ok:
        raise LinkError(f"{subject} refused: {stderr or 'no diagnostics'}")


def link_macho(objects: Sequence[str | Path], output: Path, *, entry: str) -> None:
    """Link a Mach-O x86-64 program (objects, stubs, libSystem.tbd) with the subject."""
    if name() != "ld64.lld":
        raise LinkError(f"subject {name()} does not link Mach-O")
    proc = subprocess.run([*_LD64, "-e", entry, "-o", str(output), *map(str, objects)],
                          capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise LinkError(f"ld64.lld refused: {proc.stderr.strip() or 'no diagnostics'}")


def version() -> str | None:
    """The subject's version (what `--version` prints; linkharness: its package's)."""
    from oracle.corpus.known import installed_version
    from oracle.corpus.toolchain import linker_version

    subject = name()
    if subject == "cmd":
        words = shlex.split(os.environ.get(SUBJECT_CMD_ENV, ""))
        return installed_version(words[0]) if words else None
    return linker_version(subject)
