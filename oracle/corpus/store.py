"""Reading and writing cases on disk: `add_case`, `load_case`, `find_cases`.

A case directory is self-contained: its inputs are copied in, so a case keeps reproducing
after the fuzzer's temporary files or the compiler that made it are gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from oracle.json_file import JsonFileError, read_json
from oracle.regular_file import read_regular

from .model import (
    BIND_MODES,
    CASE_FILE,
    Case,
    CaseFormatError,
    Expect,
    LinkArgs,
    check_case_id,
    normalize_objects,
    parse_bind,
    parse_case,
    parse_expect,
    parse_known,
    parse_link_args,
)

ASM_FILE = "case.s"


def default_corpus_dir() -> Path:
    """The repository's corpus/ (this file is oracle/corpus/store.py)."""
    return Path(__file__).resolve().parents[2] / "corpus"


def load_case(directory: str | os.PathLike[str]) -> Case:
    """Read `directory/case.json`; raise CaseFormatError if it is malformed or an input
    it names is missing."""
    path = Path(directory).absolute()  # runs happen elsewhere: LD_LIBRARY_PATH needs it
    try:
        data = read_json(path / CASE_FILE)
    except FileNotFoundError:
        raise CaseFormatError(f"{path}: no {CASE_FILE}") from None
    except JsonFileError as e:
        raise CaseFormatError(str(e)) from None
    case = parse_case(data, path)
    for name, full in zip(case.inputs, case.input_paths()):
        if not full.is_file():
            raise CaseFormatError(f"{path / CASE_FILE}: input {name!r} does not exist")
    return case


def find_cases(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every directory under `root` (default: the repository's corpus/) holding a case.json,
    sorted; `root` may itself be a case."""
    base = Path(root) if root is not None else default_corpus_dir()
    if (base / CASE_FILE).is_file():
        return [base]
    return sorted(p.parent for p in base.rglob(CASE_FILE))


def iter_cases(root: str | os.PathLike[str] | None = None) -> Iterator[Case]:
    for directory in find_cases(root):
        yield load_case(directory)


def add_case(
    dest_dir: str | os.PathLike[str],
    objects: Sequence[str | os.PathLike[str]] | Mapping[str, bytes],
    link_args: LinkArgs | Mapping[str, Any],
    expect: Expect | Mapping[str, Any],
    origin: str,
    caught: str,
    asm_text: str | None = None,
    *,
    case_id: str | None = None,
    target: str = "elf64-x86-64",
    bind: Sequence[str] = BIND_MODES,
    overwrite: bool = False,
    sources: Mapping[str, str] | None = None,
    known: Mapping[str, str] | None = None,
) -> Path:
    """Write a new case under the corpus directory `dest_dir` and return its directory.

    `objects` are the inputs in link order: paths (copied under their base names) or a
    mapping of file name -> bytes (what a fuzzer holds in memory).  Without `case_id`, the
    id is a slug of `caught` plus a hash of the inputs, so adding the same failure twice
    names the same case (and is refused unless `overwrite`).  The case is written to a
    temporary directory and renamed into place: a half-written case never exists.
    `asm_text` is stored as case.s; `sources` (file name -> text) are stored beside it.
    `known`: linker -> "VERSION why it differs" (see oracle.corpus.known).
    """
    largs = parse_link_args(link_args)
    exp = parse_expect(expect)
    modes = parse_bind(list(bind), "bind")
    known_map = parse_known(dict(known or {}), "add_case")
    items = normalize_objects(objects)
    if not items:
        raise CaseFormatError("add_case: a case needs at least one input object")
    texts = dict(sources or {})
    if asm_text is not None:
        texts[ASM_FILE] = asm_text
    names = [name for name, _ in items]
    every = [*names, *texts, CASE_FILE]
    if len(set(every)) != len(every) or any("/" in n or n.startswith(".") for n in every):
        raise CaseFormatError(f"add_case: file names must be distinct plain names: {every}")
    blobs = [(name, _read(src)) for name, src in items]
    cid = check_case_id(case_id or _derive_id(caught, blobs))
    root = Path(dest_dir)
    final = root / cid
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final}: a case with this id already exists")
    case = Case(
        id=cid, directory=final, target=target, inputs=tuple(names), link_args=largs,
        expect=exp, origin=origin, caught=caught, bind=modes,
        sources=tuple(texts), known=known_map,
    )
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cid}-", dir=root))
    try:
        for name, data in blobs:
            (staging / name).write_bytes(data)
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        text = json.dumps(case.to_json(), indent=2) + "\n"
        (staging / CASE_FILE).write_text(text, encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _read(src: Any) -> bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    return read_regular(src)  # an object, not a FIFO or /dev/zero (which never ends)


def _derive_id(caught: str, blobs: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, data in blobs:
        digest.update(name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    slug = re.sub(r"[^a-z0-9]+", "-", caught.lower()).strip("-")[:40].rstrip("-") or "case"
    return f"{slug}-{digest.hexdigest()[:10]}"
