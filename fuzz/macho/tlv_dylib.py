"""A dylib's thread-local variables (x86-64 and i386): fuzz/macho/tlv.py's cases with object 1
linked `-dylib` (its own variables, its own TLV key and template under dyld) and object 0,
with `_start`, linked into the executable against it.

The mapping keeps tlv.py's model (`expected_trace`: each variable has one definition, each
thread its own copies) and changes only where things live: a block that runs on a new thread
moves to object 0 (`_start` takes its address for pthread_create, and the executable may not
reach a dylib's function directly), and a variable that object 1's blocks touch moves to
object 1 (the dylib reaches nothing of the executable's).  The executable reaches the
dylib's variables through pointer slots bound to the dylib's descriptors (a TLV load of an
import is not relaxed), its own through relaxed `lea`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hypothesis import strategies as st

from linker import link

from .pipeline import LIBSYSTEM_TBD
from .tlv import TlvBlock, TlvCase, TlvStep, TlvVar, sample, tlv_cases

LIBRARY = "liblhtlv.dylib"
INSTALL_NAME = f"@rpath/{LIBRARY}"


def in_dylib(case: TlvCase) -> TlvCase:
    """`case` with object 1 fit to be a dylib (see the module's docstring)."""
    blocks = tuple(replace(b, owner=0) if b.thread else b for b in case.blocks)
    used = {s.var for b in blocks if b.owner == 1 for s in b.steps}
    return replace(case, blocks=blocks, variables=tuple(
        replace(v, owner=1) if k in used else v for k, v in enumerate(case.variables)))


def dylib_cases(arch: str) -> st.SearchStrategy[TlvCase]:
    return tlv_cases(arch).map(in_dylib)


def dylib_sample(arch: str) -> TlvCase:
    return in_dylib(sample(arch))


def dylib_aligned_bss(arch: str) -> TlvCase:
    """tlv.aligned_bss_find in the dylib: a 16-aligned __thread_bss variable after a 4-byte
    __thread_data one, read by the dylib and by the executable."""
    variables = (TlvVar("lh_t0", 1, (0,), 16), TlvVar("lh_t1", 1, (1,), 4))
    read = (TlvStep(0, 0, None), TlvStep(1, 0, None))
    return TlvCase(arch, variables, (TlvBlock(1, False, read), TlvBlock(0, False, read)))


def describe(case: TlvCase) -> set[str]:
    labels = {f"tlv:dylib:{case.arch}"}
    for b in case.blocks:
        for s in b.steps:
            owner = case.variables[s.var].owner
            if b.owner == 0 and owner == 1:
                labels.add("tlv:dylib:imported")  # the executable reads the dylib's
            elif b.owner == 1:
                labels.add("tlv:dylib:own")  # the dylib reads its own
    if any(b.thread for b in case.blocks) and any(v.owner == 1 for v in case.variables):
        labels.add("tlv:dylib:thread")
    return labels


def link_pair(objects: Sequence[Path], stubs: Sequence[Path], directory: Path, arch: str,
              chained: bool) -> tuple[Path, Path]:
    """(the dylib, the executable) linkharness makes of the case's two objects."""
    directory.mkdir(parents=True, exist_ok=True)
    lib, exe = directory / LIBRARY, directory / "main"
    common = [*map(str, stubs), str(LIBSYSTEM_TBD)]
    link([str(objects[1]), *common], lib, target=f"macho-{arch}", fixup_chains=chained,
         macho_options={"output_kind": "dylib", "install_name": INSTALL_NAME})
    link([str(objects[0]), str(lib), *common], exe, target=f"macho-{arch}", entry="_start",
         fixup_chains=chained)
    return lib, exe



