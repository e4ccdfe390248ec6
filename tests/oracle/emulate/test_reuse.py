"""One Unicorn CPU serves run after run: a run must see a fresh machine all the same (memory
zeroed, regions it did not map absent, no code translated for an earlier run's bytes), and
the bounds that replaced the per-block hook (watchdog, counted slices) must hold."""

from __future__ import annotations

import gc

import pytest
from unicorn import UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE

from oracle.emulate import cpu as cpus
from oracle.emulate.abi import I386, X86_64, Abi
from oracle.emulate.calls import ProgramExit
from oracle.emulate.guest import GuestFault
from oracle.emulate.layout import LAYOUT_32, LAYOUT_64
from oracle.emulate.machine import Limits, Machine

CODE, DATA = 0x10000000, 0x10100000
RW, RX = UC_PROT_READ | UC_PROT_WRITE, UC_PROT_READ | UC_PROT_EXEC
# movzbl DATA, %edi; syscall (the test's exit: status = the byte at DATA)
EXIT_WITH_DATA_BYTE = bytes.fromhex("0fb63c25") + DATA.to_bytes(4, "little") + b"\x0f\x05"
SPIN = b"\xeb\xfe"  # jmp .
DEFAULT = Limits()


def machine(limits: Limits = DEFAULT, abi: Abi = X86_64) -> Machine:
    layout = LAYOUT_64 if abi is X86_64 else LAYOUT_32
    m = Machine(abi, limits, layout.lib_code, layout.lib_code_size)

    def exit_with(nr: int, args: tuple[int, ...]) -> int:
        raise ProgramExit(args[0])

    m.syscall = exit_with
    return m


def load(m: Machine, code: bytes, data: bytes = b"") -> None:
    m.mem.map(CODE, 0x1000, RX)
    m.mem.write_initial(CODE, code)
    m.mem.map(DATA, 0x1000, RW)
    m.mem.write(DATA, data)


def test_the_next_run_gets_the_same_cpu_with_memory_zeroed() -> None:
    first = machine()
    load(first, EXIT_WITH_DATA_BYTE, b"\x2a")
    assert first.run(CODE) == (42, [])
    uc = first.uc
    second = machine()
    assert second.uc is uc  # reused, not a new instance
    load(second, EXIT_WITH_DATA_BYTE)  # same regions, nothing written to the data
    assert second.run(CODE) == (0, [])


@pytest.mark.parametrize("size", [0x1000, cpus.ZERO_IN_PLACE, 2 * cpus.ZERO_IN_PLACE])
def test_a_kept_region_is_zero_again_whichever_way_it_is_cleared(size: int) -> None:
    """Regions up to ZERO_IN_PLACE are cleared with memset, larger ones handed back to the
    kernel: both must read as zeros in the next run, first page and last."""
    big = 0x30000000
    first = machine()
    load(first, EXIT_WITH_DATA_BYTE, b"\x03")
    first.mem.map(big, size, RW)
    first.mem.write(big, b"first")
    first.mem.write(big + size - 5, b"last!")
    assert first.run(CODE) == (3, [])
    second = machine()
    load(second, EXIT_WITH_DATA_BYTE)
    second.mem.map(big, size, RW)
    assert second.mem.read(big, 5) == bytes(5)
    assert second.mem.read(big + size - 5, 5) == bytes(5)
    assert second.run(CODE) == (0, [])


def test_a_large_region_written_all_over_is_zero_again() -> None:
    """More pages in memory than are cleared in place: the region is handed back whole."""
    big, size = 0x30000000, 4 * cpus.ZERO_IN_PLACE
    for status in (3, 0):
        m = machine()
        load(m, EXIT_WITH_DATA_BYTE, bytes([status]))
        m.mem.map(big, size, RW)
        assert m.mem.read(big, size) == bytes(size)
        if status:
            m.mem.write(big, b"\xff" * size)
        assert m.run(CODE) == (status, [])


def test_code_translated_for_an_earlier_run_does_not_run_again() -> None:
    first = machine()
    load(first, EXIT_WITH_DATA_BYTE, b"\x07")
    assert first.run(CODE) == (7, [])
    second = machine()
    # mov $9, %edi; syscall, at the same address as the first program's code
    load(second, bytes.fromhex("bf09000000") + b"\x0f\x05")
    assert second.run(CODE) == (9, [])


def test_a_region_the_run_does_not_map_is_gone() -> None:
    first = machine()
    load(first, EXIT_WITH_DATA_BYTE, b"\x01")
    first.mem.map(0x20000000, 0x10000, RW)
    first.mem.write(0x20000000, b"secret")
    assert first.run(CODE) == (1, [])
    second = machine()
    load(second, EXIT_WITH_DATA_BYTE)
    exit_code, faults = second.run(CODE)
    assert exit_code == 0 and faults == []
    with pytest.raises(GuestFault):
        second.mem.read(0x20000000, 6)


def test_a_dropped_machine_gives_its_cpu_back() -> None:
    dropped = machine()
    uc = dropped.uc
    del dropped
    gc.collect()
    assert machine().uc is uc


def test_the_watchdog_ends_a_spinning_run() -> None:
    m = machine(Limits(timeout=0.2))
    load(m, SPIN)
    exit_code, faults = m.run(CODE)
    assert exit_code is None and [f.kind for f in faults] == ["timeout"]
    assert faults[0].address == CODE


@pytest.mark.parametrize("abi", [X86_64, I386])
def test_a_budget_ends_a_spinning_run_exactly(abi: Abi) -> None:
    m = machine(Limits(max_instructions=100_000), abi)
    load(m, SPIN)
    exit_code, faults = m.run(CODE)
    assert exit_code is None and [f.kind for f in faults] == ["budget"]
    assert m.instructions == 100_001  # one past the budget is what exhausts it


def test_without_a_budget_nothing_is_counted() -> None:
    m = machine()
    load(m, EXIT_WITH_DATA_BYTE)
    assert m.run(CODE) == (0, [])
    assert m.instructions is None


def test_one_idle_cpu_per_kind_however_many_runs() -> None:
    for _ in range(20):
        m = machine()
        load(m, EXIT_WITH_DATA_BYTE)
        m.run(CODE)
    kind = (X86_64.mode, LAYOUT_64.lib_code, LAYOUT_64.lib_code_size)
    assert len(cpus._IDLE[kind]) == 1


def test_code_loaded_by_a_run_that_never_ran_does_not_vouch_for_translations() -> None:
    first = machine()
    load(first, EXIT_WITH_DATA_BYTE, b"\x05")
    assert first.run(CODE) == (5, [])  # translated: the first program's code
    other = bytes.fromhex("bf0b000000") + b"\x0f\x05"  # mov $11, %edi; syscall
    failed_load = machine()
    load(failed_load, other)
    failed_load.close()  # as a loader does when loading fails: nothing ran
    second = machine()
    load(second, other)
    assert second.run(CODE) == (11, [])


def test_the_same_program_again_reuses_its_translations_and_still_runs_right() -> None:
    for status in (3, 3, 4):
        m = machine()
        load(m, EXIT_WITH_DATA_BYTE, bytes([status]))
        assert m.run(CODE) == (status, [])


def test_code_made_executable_for_a_while_is_translated_again() -> None:
    """A range a run made executable with mprotect and then not (so that the code the run
    ended with looks the same as the next run's) must not keep its blocks: the next run
    may put other bytes there and make them executable in turn."""
    code2 = 0x10200000
    # mprotect(CODE, 0x1000, PROT_READ | PROT_EXEC); jmp CODE
    to_code = (bytes.fromhex("b80a000000") + b"\xbf" + CODE.to_bytes(4, "little")
               + bytes.fromhex("be00100000ba05000000") + b"\x0f\x05"
               + b"\xb8" + CODE.to_bytes(4, "little") + b"\xff\xe0")
    statuses = []
    for code in (bytes.fromhex("bf07000000") + b"\x0f\x05",   # mov $7, %edi; syscall
                 bytes.fromhex("bf09000000") + b"\x0f\x05"):  # mov $9, %edi; syscall
        m = machine()

        def syscall(nr: int, args: tuple[int, ...], m: Machine = m) -> int:
            if nr == 10:
                m.protect(args[0], args[1], args[2])
                return 0
            m.protect(CODE, 0x1000, RW)  # executable no more when the run ends
            raise ProgramExit(args[0])

        m.syscall = syscall
        m.mem.map(code2, 0x1000, RX)
        m.mem.write_initial(code2, to_code)
        m.mem.map(CODE, 0x1000, RW)
        m.mem.write(CODE, code)
        statuses.append(m.run(code2))
    assert statuses == [(7, []), (9, [])]


def _live_cpus(abi: Abi = X86_64) -> int:
    layout = LAYOUT_64 if abi is X86_64 else LAYOUT_32
    return sum(c.mode == abi.mode and c.lib_base == layout.lib_code for c in list(cpus._LIVE))


def test_machines_dropped_in_cycles_do_not_pile_up_cpus() -> None:
    """A Machine dropped unclosed inside a reference cycle holds its CPU (some 30 MB of
    address space) until the cycle collector runs; the pool collects before it makes more
    than LIVE_BEFORE_COLLECT of a kind, so a long campaign's worker does not fill its
    address-space limit with them."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # as in a link, or between automatic collections
    try:
        for _ in range(12):
            m = machine()
            load(m, EXIT_WITH_DATA_BYTE)
            m.cycle = m  # type: ignore[attr-defined]  # only a collection frees it
            del m
            assert _live_cpus() <= cpus.LIVE_BEFORE_COLLECT
    finally:
        if was_enabled:
            gc.enable()


def test_a_cpu_leaving_the_pool_gives_its_memory_back_at_once() -> None:
    first, second = machine(), machine()  # two leases at once: two CPUs
    for m in (first, second):
        load(m, EXIT_WITH_DATA_BYTE)
    assert first.run(CODE) == (0, [])  # back to the pool, idle
    kept = dict(second._cpu._kept)
    assert kept and all(not r.host.closed for r in kept.values())
    assert second.run(CODE) == (0, [])  # the pool has an idle one: this one is discarded
    assert all(r.host.closed for r in kept.values())
    assert second._cpu._kept == {}
