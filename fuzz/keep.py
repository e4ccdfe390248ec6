"""From failure to corpus: when asked (environment FUZZ_KEEP=<corpus dir>), a failing
property writes the example it failed on as a self-contained corpus case through
oracle.corpus.add_case: the objects, the libtrace libraries they link against, the
expected trace and exit status (or the expected LinkError), and the assembly text.

Hypothesis runs the shrunk example last, and every failure of one property overwrites the
same case id (`fuzz-<property>`), so what stays on disk is the minimal example.  Rename the
case (and set its `caught`) before committing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oracle.corpus import add_case

from . import subject
from .emit_asm import write_asm
from .lower_x86 import lower
from .model import Program
from .pipeline import LinkOptions
from .semantics import outcome


def keep_dir() -> Path | None:
    value = os.environ.get("FUZZ_KEEP")
    return Path(value) if value else None


def link_args(options: LinkOptions | None, bind_now: bool) -> dict[str, Any]:
    """The case's link_args: the drawn output options (pie, hash style, -z ibtplt,
    --emit-relocs) besides -z now, so the case replays with the option that failed.
    The input order is not among them: `objects` are saved already in link order.  A
    subject other than linkharness (fuzz/subject.py) is linked with -z now alone, so
    only that is recorded for it."""
    args: dict[str, Any] = {"entry": "_start", "libs": [],
                            "bind_now": bind_now or bool(options and options.bind_now)}
    if options is not None and not subject.active():
        args.update(pie=options.pie, hash_style=options.hash_style,
                    ibt_plt=options.ibt_plt, emit_relocs=options.emit_relocs)
    return args


def save_case(dest: Path, name: str, program: Program, objects: Sequence[Path],
              libraries: Sequence[str], caught: str, bind_now: bool = False,
              target: str = "elf64-x86-64", asm_text: str | None = None,
              options: LinkOptions | None = None) -> Path:
    """`asm_text`: the objects as text (default: the x86-64 lowering's); `options`: the
    link options the property drew (None: the defaults)."""
    files = {p.name: p.read_bytes() for p in [*objects, *map(Path, libraries)]}
    expect: dict[str, Any]
    if program.error is not None:
        expect = {"exit_code": None, "stdout": "", "trace": None,
                  "link_error": f"\\b{program.culprit}\\b"}
    else:
        result = outcome(program)
        expect = {"exit_code": result.status, "stdout": "", "link_error": None,
                  "trace": [{"library": t.library, "symbol": t.symbol, "args": list(t.args)}
                            for t in result.trace]}
    asm = asm_text if asm_text is not None else "\n".join(
        f"# ---- {obj.name}.o\n{write_asm(obj)}" for obj in lower(program))
    return add_case(dest, files, link_args(options, bind_now), expect,
                    origin=f"fuzz: shrunk example of fuzz/{name}", caught=caught[:400],
                    asm_text=asm, case_id=f"fuzz-{name}", overwrite=True, target=target)


def first_problem(failure: BaseException) -> str:
    """The failure's first line that names a problem (not a heading such as 'objects from
    our writer:'), which a corpus case keeps as what it caught."""
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
    named = [line for line in lines if not line.endswith(":")]
    return (named or lines or [type(failure).__name__])[0]


@contextmanager
def kept_on_failure(name: str, program: Program, objects: Sequence[Path],
                    libraries: Sequence[str], bind_now: bool = False,
                    target: str = "elf64-x86-64", asm_text: str | None = None,
                    options: LinkOptions | None = None) -> Iterator[None]:
    """Run the body; if it fails and FUZZ_KEEP is set, save the example, then re-raise."""
    try:
        yield
    except Exception as failure:
        dest = keep_dir()
        if dest is not None:
            save_case(dest, name, program, objects, libraries, first_problem(failure),
                      bind_now, target, asm_text, options)
        raise
