"""<ctype.h>, strto* and rand against glibc run natively, on x86-64 and i386."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.emulate.libc import ctype, numbers
from oracle.emulate.libc.abi import signed
from oracle.emulate.libc.flatmem import FlatMemory
from oracle.emulate.libc.rand import GlibcRand

HERE = Path(__file__).parent
CTYPE_NAMES = ["isdigit", "isalpha", "isspace", "isalnum", "isupper", "islower", "isxdigit",
               "isprint", "ispunct", "toupper", "tolower"]
TEXT, END = 0x1000, 0x3000


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    out = tmp_path_factory.mktemp("libc_oracle")
    binaries = {8: out / "libc64", 4: out / "libc32"}
    source = HERE / "libc_oracle.c"
    subprocess.run(["gcc", "-O1", "-o", binaries[8], source], check=True)
    subprocess.run(["gcc", "-m32", "-O1", "-o", binaries[4], source], check=True)
    return binaries


def test_ctype_matches_glibc_for_every_char_and_eof(oracle: dict[int, Path]) -> None:
    lines = subprocess.run([oracle[8], "ctype"], capture_output=True, check=True, text=True)
    mem = FlatMemory(0, 16)
    rows = [list(map(int, line.split())) for line in lines.stdout.splitlines()]
    assert len(rows) == 384
    for c, *want in rows:
        raw = c & 0xFFFFFFFF  # arrives as an unsigned register value
        got = [signed(getattr(ctype, name)(mem, raw), 4) for name in CTYPE_NAMES]
        assert got == want[: len(CTYPE_NAMES)], c
    tables = [ctype.class_table_bytes(), ctype.toupper_table_bytes(), ctype.tolower_table_bytes()]
    raw_entries = [
        [row[-3] for row in rows],
        [row[-2] for row in rows],
        [row[-1] for row in rows],
    ]
    for table, entry_size, want_entries in zip(tables, (2, 4, 4), raw_entries, strict=True):
        cells = [table[k : k + entry_size] for k in range(0, len(table), entry_size)]
        assert [signed(int.from_bytes(cell, "little"), entry_size) for cell in cells] == [
            signed(v, entry_size) for v in want_entries
        ]
    assert ctype.TABLE_ORIGIN == [row[0] for row in rows].index(0)


def emulate_strto(word: int, text: bytes, base: int) -> str:
    mem = FlatMemory(0, 0x4000)
    mem.write(TEXT, text + b"\0")
    results = []
    for fn, size, is_signed in [(numbers.strtol, word, True), (numbers.strtoul, word, False),
                                (numbers.strtoll, 8, True), (numbers.strtoull, 8, False)]:
        mem.write(END, b"\0" * 8)
        errno: list[int] = []
        value = fn(mem, TEXT, END, base & 0xFFFFFFFF, word=word, errno=errno.append)
        end = int.from_bytes(mem.read(END, word), "little")
        results += [signed(value, size) if is_signed else value, end - TEXT if end else -1]
        results.append(errno[-1] if errno else 0)
    results.append(numbers.atoi(mem, TEXT, word=word))
    results.append(numbers.atol(mem, TEXT, word=word))
    return " ".join(map(str, results))


def native_strto(binary: Path, cases: list[tuple[bytes, int]]) -> list[str]:
    request = b"".join(struct.pack("<iI", base, len(text)) + text for text, base in cases)
    done = subprocess.run([binary, "strto"], input=request, capture_output=True, check=True)
    return done.stdout.decode().splitlines()


NUMBERISH = st.lists(
    st.sampled_from([" ", "\t", "\n", "+", "-", "0", "0", "1", "7", "9", "x", "X", "a", "f",
                     "z", "Z", "g", ".", "9223372036854775807", "18446744073709551615",
                     "2147483648", "4294967296", "0x", "ffffffffffffffff1"]),
    max_size=8,
).map(lambda parts: "".join(parts).encode())
BASES = st.one_of(st.sampled_from([0, 10, 16, 8, 2, 36]), st.integers(-1, 37))

FIXED_CASES = [
    (b"  -0x", 16), (b"0x", 0), (b"0xg", 0), (b"012389", 0), (b"-9223372036854775808", 10),
    (b"-9223372036854775809", 10), (b"9223372036854775808", 10), (b"-1", 10),
    (b"-18446744073709551615", 10), (b"-18446744073709551616", 10), (b"2147483648", 10),
    (b"-2147483649", 10), (b"4294967296", 10), (b"  12", 1), (b"zz", 36), (b"ZZ", 35),
    (b"", 10), (b"+-1", 10), (b"\v\f\r 42abc", 0), (b"1111", 2), (b"0b11", 0), (b"99999999999", 10),
]


@pytest.mark.parametrize("word", [8, 4])
def test_fixed_strto_cases_match_glibc(oracle: dict[int, Path], word: int) -> None:
    want = native_strto(oracle[word], FIXED_CASES)
    got = [emulate_strto(word, text, base) for text, base in FIXED_CASES]
    assert got == want


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(NUMBERISH, BASES), min_size=60, max_size=60))
def test_random_strto_cases_match_glibc(oracle: dict[int, Path], cases) -> None:
    for word in (8, 4):
        want = native_strto(oracle[word], cases)
        got = [emulate_strto(word, text, base) for text, base in cases]
        for case, w, g in zip(cases, want, got, strict=True):
            assert g == w, (word, case)


@pytest.mark.parametrize("word", [8, 4])
def test_rand_sequences_match_glibc(oracle: dict[int, Path], word: int) -> None:
    seeds = [0, 1, 2, 42, 12345, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 3_000_000_000, 77777]
    request = b"".join(struct.pack("<I", seed) for seed in seeds)
    done = subprocess.run([oracle[word], "rand"], input=request, capture_output=True, check=True)
    rng = GlibcRand()
    got = [" ".join(str(rng.next()) for _ in range(3))]
    for seed in seeds:
        rng.seed(seed)
        got.append(" ".join(str(rng.next()) for _ in range(5)))
    assert got == done.stdout.decode().splitlines()
