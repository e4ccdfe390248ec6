"""oracle/emulate/translation_guard.py: straight lines of x87 register and SSE immediate
instructions long enough to crash Unicorn's translator are refused, and ordinary code,
dense x87 code broken by branches included, is not."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oracle.emulate.translation_guard import LIMIT, MAX_DECODED, first_unsafe

FCMOVU = b"\xda\xda"  # fcmovu st, st(2): two leaked temporaries each
FXCH = b"\xd9\xc9"
PSHUFD = b"\x66\x0f\x70\xc0\x00"  # pshufd xmm0, xmm0, 0: one
JMP_NEXT = b"\xeb\x00"
NOP = b"\x90"

# Unicorn itself: 240 fcmovu in one block crash the process (the reason for the guard)
_RAW = """
import sys
from unicorn import Uc, UC_ARCH_X86, UC_MODE_64
uc = Uc(UC_ARCH_X86, UC_MODE_64)
uc.mem_map(0x100000, 0x10000)
code = bytes.fromhex(sys.argv[1]) * int(sys.argv[2]) + b"\\xf4"
uc.mem_write(0x100000, code)
try:
    uc.emu_start(0x100000, 0x100000 + len(code))
except Exception:
    pass
"""


@pytest.mark.parametrize("bits", [64, 32])
def test_a_long_x87_or_sse_line_is_refused_where_it_starts(bits: int) -> None:
    assert first_unsafe(NOP * 100 + FCMOVU * 240, bits) is not None
    assert first_unsafe(FXCH * (LIMIT // 2), bits) == 0
    assert first_unsafe(NOP * 7 + PSHUFD * 480, bits) is not None


@pytest.mark.parametrize("bits", [64, 32])
def test_short_or_branching_x87_code_passes(bits: int) -> None:
    assert first_unsafe(FCMOVU * (LIMIT // 2 - 1) + NOP * 5000, bits) is None
    # a jump every 50 instructions ends each block: thousands in all are fine
    assert first_unsafe((FCMOVU * 50 + JMP_NEXT) * 60, bits) is None
    assert first_unsafe(b"", bits) is None
    assert first_unsafe(b"\xda", bits) is None


def test_too_much_dense_code_is_refused_unchecked_and_fast() -> None:
    """Dense x87 code broken by jumps is safe, but decoding all of it would outlast a run's
    time bound: past MAX_DECODED it is refused at once."""
    import time
    line = FCMOVU * 20 + JMP_NEXT
    small = line * ((16 << 10) // len(line))
    assert first_unsafe(small, 64) is None
    large = line * (4 * MAX_DECODED // len(line))
    started = time.process_time()
    assert first_unsafe(large, 64) == 0
    assert time.process_time() - started < 0.5


def test_the_limit_is_below_unicorns_crash() -> None:
    """The guard refuses at LIMIT (in leaked temporaries) what Unicorn crashes on a few
    dozen later; if a Unicorn upgrade stops crashing, the guard may go."""
    def runs(count: int) -> int:
        return subprocess.run([sys.executable, "-c", _RAW, FCMOVU.hex(), str(count)],
                              check=False, capture_output=True, timeout=120).returncode
    assert runs(LIMIT // 2) == 0
    assert runs(240) != 0  # SIGSEGV in the translator
