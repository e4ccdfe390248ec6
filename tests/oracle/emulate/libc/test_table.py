"""The binding table: names, arities, needs, result masking, and the stdio functions
through a recording Streams sink."""

from __future__ import annotations

import pytest

from oracle.emulate.guest import GuestFault
from oracle.emulate.libc import library
from oracle.emulate.libc.flatmem import FlatMemory, PackedArgs
from oracle.emulate.libc.heap import Heap
from oracle.emulate.libc.rand import GlibcRand

BASE = 0x20000
STDOUT, STDERR = 0x9000, 0x9010


class Recorder:
    """A Streams sink that keeps what each FILE* received."""

    def __init__(self) -> None:
        self.written: dict[int, bytes] = {}

    @property
    def stdout(self) -> int:
        return STDOUT

    def write(self, stream: int, data: bytes) -> None:
        if stream not in (STDOUT, STDERR):
            raise GuestFault(stream, "write to an unknown FILE*")
        self.written[stream] = self.written.get(stream, b"") + data


def put(mem: FlatMemory, addr: int, text: bytes) -> int:
    mem.write(addr, text + b"\0")
    return addr


def args(*values: int, word: int = 8) -> PackedArgs:
    return PackedArgs(b"".join((v % (1 << 8 * word)).to_bytes(word, "little") for v in values), word)


@pytest.fixture
def mem() -> FlatMemory:
    return FlatMemory(BASE, 0x2000)


def test_pure_table_leaves_out_what_needs_heap_or_streams() -> None:
    pure = library(8)
    assert {"strlen", "memcpy", "strtol", "sprintf", "snprintf", "isdigit"} <= set(pure)
    assert not {"malloc", "strdup", "printf", "puts"} & set(pure)
    assert all(not f.needs_heap and not f.needs_streams for f in pure.values())


def test_full_table_arities_and_flags(mem: FlatMemory) -> None:
    table = library(8, heap=Heap(mem, BASE + 0x1000, 0x1000), streams=Recorder())
    expected = {"strlen": 1, "strncmp": 3, "memset": 3, "malloc": 1, "calloc": 2, "realloc": 2,
                "free": 1, "printf": 1, "fprintf": 2, "snprintf": 3, "fwrite": 4, "strtoull": 3}
    assert {name: table[name].arity for name in expected} == expected
    assert {n for n, f in table.items() if f.variadic} == {"printf", "fprintf", "sprintf",
                                                            "snprintf", "asprintf"}
    assert table["strdup"].needs_heap and table["puts"].needs_streams
    assert all(f.name == name for name, f in table.items())


def test_results_are_masked_to_the_word_or_to_64_bits(mem: FlatMemory) -> None:
    put(mem, BASE, b"a")
    put(mem, BASE + 8, b"b")
    put(mem, BASE + 16, b"-1")
    wide, narrow = library(8), library(4)
    assert wide["strcmp"].call(mem, [BASE, BASE + 8]) == (1 << 64) - 1
    assert narrow["strcmp"].call(mem, [BASE, BASE + 8]) == (1 << 32) - 1
    assert narrow["strtoll"].result_size == 8
    assert narrow["strtoll"].call(mem, [BASE + 16, 0, 10]) == (1 << 64) - 1
    assert narrow["strtol"].call(mem, [BASE + 16, 0, 10]) == (1 << 32) - 1


def test_call_checks_its_arguments(mem: FlatMemory) -> None:
    table = library(8)
    with pytest.raises(TypeError, match="takes 1"):
        table["strlen"].call(mem, [1, 2])
    with pytest.raises(TypeError, match="variadic"):
        table["sprintf"].call(mem, [BASE, BASE])


def test_sprintf_and_snprintf_truncation(mem: FlatMemory) -> None:
    table = library(8)
    fmt = put(mem, BASE, b"%s=%d")
    name = put(mem, BASE + 0x20, b"answer")
    out = BASE + 0x100
    assert table["sprintf"].call(mem, [out, fmt], args(name, 42)) == 9
    assert mem.read(out, 10) == b"answer=42\0"
    mem.write(out, b"\xee" * 10)
    assert table["snprintf"].call(mem, [out, 5, fmt], args(name, 42)) == 9
    assert mem.read(out, 6) == b"answ\0\xee"
    assert table["snprintf"].call(mem, [out, 0, fmt], args(name, 42)) == 9
    assert mem.read(out, 1) == b"a"  # n == 0 writes nothing


def test_stream_functions_write_what_glibc_would(mem: FlatMemory) -> None:
    out = Recorder()
    table = library(4, streams=out)
    text = put(mem, BASE, b"hi")
    fmt = put(mem, BASE + 0x10, b"<%d>")
    assert table["puts"].call(mem, [text]) == 3
    assert table["printf"].call(mem, [fmt], args(7, word=4)) == 3
    assert table["putchar"].call(mem, [300]) == 44
    assert table["fputs"].call(mem, [text, STDERR]) == 1
    assert table["fputc"].call(mem, [(1 << 32) - 2, STDERR]) == 254
    assert table["fprintf"].call(mem, [STDERR, fmt], args(-1, word=4)) == 4
    assert table["fwrite"].call(mem, [text, 1, 2, STDOUT]) == 2
    assert table["fwrite"].call(mem, [text, 0, 2, STDOUT]) == 0
    assert table["fflush"].call(mem, [0]) == 0
    assert out.written == {STDOUT: b"hi\n<7>,hi", STDERR: b"hi\xfe<-1>"}
    with pytest.raises(GuestFault, match="unknown FILE"):
        table["fputs"].call(mem, [text, 0x1234])


def test_heap_functions_through_the_table(mem: FlatMemory) -> None:
    heap = Heap(mem, BASE + 0x1000, 0x1000, align=8)
    table = library(4, heap=heap)
    p = table["calloc"].call(mem, [4, 4])
    assert p % 8 == 0 and mem.read(p, 16) == bytes(16)
    q = table["realloc"].call(mem, [p, 64])
    assert q in heap.live
    assert table["free"].call(mem, [q]) == 0
    assert heap.live == {}
    assert table["malloc"].call(mem, [0x2000]) == 0


def test_unknown_word_size_is_refused() -> None:
    with pytest.raises(ValueError, match="word size"):
        library(2)


def test_errno_is_set_through_the_sink_only_on_failure(mem: FlatMemory) -> None:
    errno: list[int] = []
    heap = Heap(mem, BASE + 0x1000, 0x1000)
    table = library(8, heap=heap, errno=errno.append)
    big = put(mem, BASE, b"99999999999999999999")
    small = put(mem, BASE + 0x40, b"12")
    assert table["strtol"].call(mem, [small, 0, 10]) == 12
    assert table["malloc"].call(mem, [16]) != 0
    assert errno == []
    assert table["strtol"].call(mem, [big, 0, 10]) == (1 << 63) - 1
    assert table["strtoul"].call(mem, [small, 0, 1]) == 0
    assert table["malloc"].call(mem, [1 << 20]) == 0
    p = table["malloc"].call(mem, [8])
    assert table["realloc"].call(mem, [p, 0]) == 0  # a free, not a failure
    assert errno == [34, 22, 12]
    assert table["strtoll"].sets_errno and table["calloc"].sets_errno
    assert not table["free"].sets_errno and not table["strlen"].sets_errno


def test_asprintf_allocates_the_formatted_text(mem: FlatMemory) -> None:
    errno: list[int] = []
    heap = Heap(mem, BASE + 0x1000, 0x40)
    table = library(4, heap=heap, errno=errno.append)
    fmt = put(mem, BASE, b"<%d:%s>")
    word = put(mem, BASE + 0x10, b"abc")
    strp = BASE + 0x20
    assert table["asprintf"].call(mem, [strp, fmt], args(-5, word, word=4)) == 8
    block = int.from_bytes(mem.read(strp, 4), "little")
    assert block in heap.live and mem.read(block, 9) == b"<-5:abc>\0"
    long_fmt = put(mem, BASE + 0x30, b"%100d")
    assert table["asprintf"].call(mem, [strp, long_fmt], args(1, word=4)) == (1 << 32) - 1
    assert errno == [12]


def test_each_table_owns_its_rand_generator(mem: FlatMemory) -> None:
    table, other = library(8), library(8)
    first = table["rand"].call(mem, [])
    assert table["rand"].call(mem, []) != first
    assert other["rand"].call(mem, []) == first  # a new process starts from seed 1
    table["srand"].call(mem, [1])
    assert table["rand"].call(mem, []) == first  # unseeded is seed 1
    assert first == GlibcRand().next() and table["rand"].arity == 0
