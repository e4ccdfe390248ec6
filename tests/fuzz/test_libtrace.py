"""The libtrace convention as fuzz/ implements it: FNV-1a test vectors, agreement with the
emulator's own implementation, and the real C library returning the same numbers."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from fuzz import libtrace
from oracle.emulate import libtrace as emulated


def test_fnv1a64_matches_the_published_test_vectors() -> None:
    assert libtrace.fnv1a64(b"") == 0xCBF29CE484222325
    assert libtrace.fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert libtrace.fnv1a64(b"foobar") == 0x85944171F73967E8


@pytest.mark.parametrize("name,args", [
    ("lt1_f0_a0", ()), ("lt2_f1_a1", (7,)), ("lt3_f6_a6", (2**64 - 1, 0, 1, 2, 3, 0xFFFFFFFF)),
])
def test_function_results_agree_with_the_emulator(name: str, args: tuple[int, ...]) -> None:
    assert libtrace.function_result(name, args) == emulated.call_result(name, args)
    assert libtrace.arity_of(name) == emulated.arity(name)


def test_data_words_agree_with_the_emulator() -> None:
    for imp in libtrace.catalogue():
        if not imp.is_function:
            words = [libtrace.data_word(imp.name, k) for k in range(imp.size // 4)]
            raw = emulated.data_bytes(imp.name, imp.size)
            assert words == [int.from_bytes(raw[i:i + 4], "little") for i in range(0, imp.size, 4)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return libtrace.build_libraries(tmp_path_factory.mktemp("lt"))


def test_the_c_library_returns_what_the_model_predicts(built: dict[int, Path]) -> None:
    lib = ctypes.CDLL(str(built[2]))
    fn = lib.lt2_f3_a3
    fn.restype = ctypes.c_uint64
    fn.argtypes = [ctypes.c_uint64] * 3
    args = (2**63 + 5, 17, 0xFFFFFFFF)
    assert fn(*args) == libtrace.function_result("lt2_f3_a3", args)
    data = (ctypes.c_uint32 * 8).in_dll(lib, "lt2_d2")
    assert list(data) == [libtrace.data_word("lt2_d2", k) for k in range(8)]


def test_native_trace_lines_parse_back() -> None:
    text = b"noise\nTRACE libtrace1.so lt1_f2_a2 000000000000000a ffffffffffffffff\n"
    assert libtrace.parse_native_trace(text) == (
        ("libtrace1.so", "lt1_f2_a2", (10, 2**64 - 1)),)


def test_a_name_without_an_arity_suffix_is_refused() -> None:
    with pytest.raises(ValueError):
        libtrace.arity_of("lt1_func")


def test_the_i386_library_takes_word_arguments(tmp_path: Path) -> None:
    """-m32 builds: 32-bit parameters (the stack cells the emulator reads), hashed as 64-bit
    values; an ELF32 i386 shared object comes out."""
    source = libtrace.c_source(1, m32=True)
    assert "uint64_t lt1_f2_a2(uint32_t a, uint32_t b)" in source
    assert "uint32_t a" not in libtrace.c_source(1)
    built = libtrace.build_libraries(tmp_path, m32=True)
    header = built[1].read_bytes()[:20]
    assert header[4] == 1 and int.from_bytes(header[18:20], "little") == 3  # ELFCLASS32, EM_386
