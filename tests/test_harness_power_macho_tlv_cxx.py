"""Harness power for fuzz/test_macho_tlv_cxx.py (C++ `thread_local` destructors on Mach-O):
bugs seeded one at a time, into the linker and into the emulated libSystem whose
`__tlv_atexit` the property relies on, each caught by the property's own judges
(`problems`) on its samples plus a deterministic draw.  The kill table is printed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fuzz.macho import tlv_cxx as cxx
from fuzz.power import Mutants, collect, first_exposure, print_kill_table, seed_each
from fuzz.test_macho_tlv_cxx import problems
from linker.macho import link as macho_link
from linker.macho import tlv as macho_tlv
from linker.resolve import SymbolTable
from oracle.emulate import startup
from oracle.emulate.macho import pthreads
from oracle.emulate.macho import start as macho_start

MUTANTS = Mutants()
mutant = MUTANTS


@mutant("linker: ___dso_handle not defined (only __mh_execute_header)", "TLV")
def _no_dso_handle(mp: pytest.MonkeyPatch) -> None:
    original = SymbolTable.define_linker_symbol

    def define(self: SymbolTable, name: str) -> Any:
        return None if name == macho_link.DSO_HANDLE else original(self, name)
    mp.setattr(SymbolTable, "define_linker_symbol", define)


@mutant("linker: descriptor offsets counted from __thread_bss (the __thread_data it "
        "follows forgotten)", "TLV")
def _template_from_bss(mp: pytest.MonkeyPatch) -> None:
    def start(outs: list[Any]) -> int | None:
        bss = [o.addr for o in outs if o.name.endswith(",__thread_bss") and o.size]
        data = [o.addr for o in outs if o.name.endswith(",__thread_data") and o.size]
        return min(bss or data, default=None)
    mp.setattr(macho_tlv, "template_start", start)


@mutant("linker: __mod_init_func inputs laid out last object first (static objects built "
        "out of link order)", "TLV")
def _init_funcs_reversed(mp: pytest.MonkeyPatch) -> None:
    original = macho_link._collect

    def collect(symtab: Any) -> Any:
        outs = original(symtab)
        for out in outs:
            if out.name.endswith(",__mod_init_func"):
                inputs = list(reversed(out.inputs))
                out.inputs, out.offsets, out.size = [], [], 0
                for sec in inputs:
                    out.add(sec)
        return outs
    mp.setattr(macho_link, "_collect", collect)


@mutant("emulated libSystem: a thread's destructors run oldest first", "TLV")
def _fifo(mp: pytest.MonkeyPatch) -> None:
    def finalize(self: Any, ctx: Any, tsd: int) -> Iterator[Any]:
        pending = self.finalizers.get(tsd, [])
        while pending:
            func, obj = pending.pop(0)
            yield pthreads.GuestCall(func, (obj,))
    mp.setattr(pthreads.Threads, "finalize", finalize)


@mutant("emulated libSystem: exit runs the atexit handlers before the main thread's "
        "thread_local destructors", "TLV")
def _static_first(mp: pytest.MonkeyPatch) -> None:
    original = startup.run_exit

    def run_exit(ctx: Any, status: int) -> Any:
        process = ctx.process
        while process.atexit:
            entry = process.atexit.pop()
            yield pthreads.GuestCall(entry.function, entry.args)
        return (yield from original(ctx, status))
    mp.setattr(startup, "run_exit", run_exit)
    mp.setattr(macho_start, "run_exit", run_exit)


@pytest.fixture(scope="module")
def cases() -> list[cxx.CxxTlvCase]:
    return [*cxx.SAMPLES, *collect(cxx.cxx_tlv_cases(), 1)]


def _exposed(cases: list[cxx.CxxTlvCase], root: Path) -> str | None:
    def judged(n: int, case: cxx.CxxTlvCase) -> Callable[[], list[str]]:
        return lambda: problems(case, root / f"c{n}")
    return first_exposure((f"case {n}", judged(n, c)) for n, c in enumerate(cases))


def test_unmutated_linker_passes(cases: list[cxx.CxxTlvCase], tmp_path: Path) -> None:
    assert _exposed(cases, tmp_path) is None


def test_seeded_tlv_cxx_bugs_are_caught(cases: list[cxx.CxxTlvCase], tmp_path: Path) -> None:
    runs = iter(range(1000))
    results = seed_each(MUTANTS, lambda: _exposed(cases, tmp_path / f"r{next(runs)}"),
                        crash_kills=True)
    killed = print_kill_table("harness power, C++ thread_local destructors on Mach-O",
                              results, MUTANTS)
    assert killed == len(MUTANTS), results
