"""Link a case's inputs with linkharness (its public `link()` only) or a reference linker.

The oracle never reaches into the linker: a linkharness link is exactly what a user of
`linker.link` gets, and a reference link is a subprocess with GNU ld's command line.
"""

from __future__ import annotations

import subprocess
import traceback
from dataclasses import dataclass
from pathlib import Path

from .model import Case
from .toolchain import (
    LINKERS,
    library_dirs,
    link_items,
    links_target,
    reference_command,
    unsupported_options,
)

LINK_TIMEOUT = 60.0


@dataclass(frozen=True)
class LinkOutcome:
    """output is the executable when the link succeeded; otherwise error says why.
    crashed marks a linkharness failure that was not a LinkError (always a bug)."""

    output: Path | None
    error: str | None = None
    crashed: bool = False
    unsupported: bool = False  # the linker does not link this target at all


def link_case(case: Case, linker: str, output: Path) -> LinkOutcome:
    if linker not in LINKERS:
        raise ValueError(f"unknown linker {linker!r} (choose from {', '.join(LINKERS)})")
    if linker == "linkharness":
        return _link_linkharness(case, output)
    if not links_target(linker, case.target):
        return LinkOutcome(None, f"{linker} does not link {case.target}", unsupported=True)
    missing = unsupported_options(linker, case)
    if missing:
        return LinkOutcome(None, f"{linker} has no {', '.join(missing)}", unsupported=True)
    return _link_reference(linker, case, output)


def _link_linkharness(case: Case, output: Path) -> LinkOutcome:
    from linker import LinkError, link

    args = case.link_args
    # A case without a hash_style links with link()'s default, "both", as it always did.
    hash_style = args.hash_style or "both"
    try:
        link(
            link_items(case),
            output,
            target=case.target,
            entry=args.entry,
            library_paths=library_dirs(case),
            dynamic_linker=args.interpreter(case.target) or None,
            bind_now=args.bind_now,
            pie=args.pie,
            ibt_plt=args.ibt_plt,
            emit_relocs=args.emit_relocs,
            hash_style=hash_style,
        )
    except LinkError as e:
        return LinkOutcome(None, str(e))
    except Exception as e:  # noqa: BLE001 - a crash is a finding, never a pass
        last = traceback.extract_tb(e.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        return LinkOutcome(None, f"linker crashed: {type(e).__name__}: {e} ({where})", True)
    return LinkOutcome(output)


def _link_reference(linker: str, case: Case, output: Path) -> LinkOutcome:
    cmd = reference_command(linker, case, output)
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True,
                              errors="replace", timeout=LINK_TIMEOUT)
    except FileNotFoundError:
        return LinkOutcome(None, f"{cmd[0]} is not installed", crashed=True)
    except subprocess.TimeoutExpired:
        return LinkOutcome(None, f"{cmd[0]} timed out after {LINK_TIMEOUT:g}s", crashed=True)
    if proc.returncode != 0:
        return LinkOutcome(None, proc.stderr.strip() or f"{cmd[0]} exited {proc.returncode}")
    return LinkOutcome(output)
