"""Decoders for dyld's compressed link-edit streams (mach-o/loader.h): rebase opcodes and
bind opcodes (non-lazy, weak and lazy), into flat records.

Each opcode is a high nibble (the operation) and a low nibble (an immediate); ULEB128 and
SLEB128 operands and a NUL-terminated symbol name may follow.  Anything a well-formed
stream never holds (an unknown opcode, a number running past the stream or past 64 bits,
a missing segment) raises `OpcodeError` with the offset of the opcode, so that both the
emulated dyld (a load fault) and the checker (a violation) can say where a stream broke.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from oracle.records import quick_init

REBASE_TYPE_POINTER, REBASE_TYPE_TEXT_ABSOLUTE32, REBASE_TYPE_TEXT_PCREL32 = 1, 2, 3
BIND_TYPE_POINTER = 1
BIND_SYMBOL_FLAGS_WEAK_IMPORT = 0x1
POINTER_SIZE = 8
MASK64 = (1 << 64) - 1
# The fewest records a stream may decode to before a repeat count is taken for corrupt:
# more pointers than any program under test.  A bigger file may hold more (record_limit).
MAX_RECORDS = 1 << 18


def record_limit(file_size: int, pointer_size: int) -> int:
    """How many rebase or bind records a stream of a file of `file_size` bytes may decode
    to: every location dyld fixes up is a pointer that the file's segments hold, so an
    image has at most one per pointer-sized word of the file (Apple's libllvmlite.dylib,
    95 MB, has 301,597 rebases); a small file keeps MAX_RECORDS, so a corrupt repeat count
    in a fuzzed one still stops before it costs memory."""
    return max(MAX_RECORDS, file_size // pointer_size)


class OpcodeError(Exception):
    def __init__(self, stream: str, offset: int, what: str) -> None:
        super().__init__(f"{stream}+{offset:#x}: {what}")
        self.stream = stream
        self.offset = offset
        self.what = what


@quick_init
@dataclass(frozen=True)
class Rebase:
    opcode_offset: int
    segment: int
    offset: int  # within the segment
    type: int


@quick_init
@dataclass(frozen=True)
class Bind:
    opcode_offset: int  # of the DO_BIND opcode that made this record
    segment: int
    offset: int
    ordinal: int  # >0 a dylib, 0 self, -1 main executable, -2 flat lookup
    symbol: str
    flags: int
    type: int
    addend: int

    @property
    def weak_import(self) -> bool:
        return bool(self.flags & BIND_SYMBOL_FLAGS_WEAK_IMPORT)


class _Reader:
    def __init__(self, data: bytes, stream: str) -> None:
        self.data = data
        self.stream = stream
        self.pos = 0
        self.op_at = 0

    def fail(self, what: str) -> OpcodeError:
        return OpcodeError(self.stream, self.op_at, what)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("operand runs past the end of the stream")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uleb(self) -> int:
        value = shift = 0
        while True:
            b = self.byte()
            if shift >= 64 and b & 0x7F:
                raise self.fail("ULEB128 operand wider than 64 bits")
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value & MASK64

    def sleb(self) -> int:
        value = shift = 0
        while True:
            b = self.byte()
            if shift >= 64:
                raise self.fail("SLEB128 operand wider than 64 bits")
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if b & 0x40:
                    value -= 1 << shift
                return value

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise self.fail("symbol name is not NUL-terminated")
        text = self.data[self.pos : end].decode("utf-8", "replace")
        self.pos = end + 1
        return text


# Streams up to this size are decoded once per contents (functools caches below): the
# checker's rules and both runs of the emulated dyld (lazy, now) decode the same ones.
CACHED_STREAM = 64 << 10


def decode_rebases(data: bytes, stream: str = "rebase", *,
                   pointer_size: int = POINTER_SIZE, limit: int = MAX_RECORDS
                   ) -> list[Rebase]:
    """Rebase records of a stream; `pointer_size` (4 for i386) is the step between
    consecutive pointers and the unit of ADD_ADDR_IMM_SCALED; more than `limit` records
    (record_limit of the file) is an OpcodeError."""
    data = bytes(data)
    if len(data) > CACHED_STREAM:
        return list(_rebases.__wrapped__(data, stream, pointer_size, limit))
    return list(_rebases(data, stream, pointer_size, limit))


@functools.lru_cache(maxsize=256)
def _rebases(data: bytes, stream: str, pointer_size: int, limit: int) -> tuple[Rebase, ...]:
    out: list[Rebase] = []
    r = _Reader(data, stream)
    rtype, segment, offset = 0, -1, 0

    def emit(count: int, skip: int) -> None:
        nonlocal offset
        if segment < 0:
            raise r.fail("rebase before SET_SEGMENT_AND_OFFSET")
        if len(out) + count > limit:
            raise r.fail(f"repeat count {count} makes more than {limit} rebases")
        for _ in range(count):
            out.append(Rebase(r.op_at, segment, offset, rtype))
            offset = (offset + pointer_size + skip) & MASK64

    while r.pos < len(data):
        r.op_at = r.pos
        byte = r.byte()
        op, imm = byte & 0xF0, byte & 0x0F
        if op == 0x00:  # DONE
            break
        if op == 0x10:  # SET_TYPE_IMM
            rtype = imm
        elif op == 0x20:  # SET_SEGMENT_AND_OFFSET_ULEB
            segment, offset = imm, r.uleb()
        elif op == 0x30:  # ADD_ADDR_ULEB
            offset = (offset + r.uleb()) & MASK64
        elif op == 0x40:  # ADD_ADDR_IMM_SCALED
            offset += imm * pointer_size
        elif op == 0x50:  # DO_REBASE_IMM_TIMES
            emit(imm, 0)
        elif op == 0x60:  # DO_REBASE_ULEB_TIMES
            emit(r.uleb(), 0)
        elif op == 0x70:  # DO_REBASE_ADD_ADDR_ULEB
            emit(1, r.uleb())
        elif op == 0x80:  # DO_REBASE_ULEB_TIMES_SKIPPING_ULEB
            count = r.uleb()
            emit(count, r.uleb())
        else:
            raise r.fail(f"unknown rebase opcode {byte:#04x}")
    return tuple(out)


def decode_binds(data: bytes, stream: str = "bind", *, lazy: bool = False,
                 start: int = 0, single: bool = False,
                 pointer_size: int = POINTER_SIZE, weak: bool = False,
                 limit: int = MAX_RECORDS) -> list[Bind]:
    """Bind records of a stream.  lazy: DONE separates entries rather than ending the
    stream (each lazy entry starts from a clean state).  single: stop at the first DONE
    after `start` (what dyld_stub_binder does with the offset the stub helper pushed).
    pointer_size: 4 for i386 (the step after each bind, the unit of IMM_SCALED).
    weak: the weak-bind stream, which names no library (it coalesces by name across every
    image): the SET_DYLIB_* opcodes are refused there, as dyld's weak-bind iterator
    ("bad weak bind opcode") and llvm-objdump do.  limit: as decode_rebases'."""
    data = bytes(data)
    decode = _binds.__wrapped__ if len(data) > CACHED_STREAM else _binds
    return list(decode(data, stream, lazy, start, single, pointer_size, weak, limit))


@functools.lru_cache(maxsize=256)
def _binds(data: bytes, stream: str, lazy: bool, start: int, single: bool,
           pointer_size: int, weak: bool, limit: int) -> tuple[Bind, ...]:
    out: list[Bind] = []
    r = _Reader(data, stream)
    r.pos = start
    if not data and not single:
        return tuple(out)
    if start < 0 or start >= len(data):
        raise OpcodeError(stream, start, f"offset {start:#x} is outside the stream "
                                         f"({len(data)} bytes)")
    state = _BindState()

    def emit(skip: int) -> None:
        if state.segment < 0:
            raise r.fail("bind before SET_SEGMENT_AND_OFFSET")
        if state.symbol is None:
            raise r.fail("bind before SET_SYMBOL_TRAILING_FLAGS")
        out.append(Bind(r.op_at, state.segment, state.offset, state.ordinal, state.symbol,
                        state.flags, state.type, state.addend))
        state.offset = (state.offset + pointer_size + skip) & MASK64

    while r.pos < len(data):
        r.op_at = r.pos
        byte = r.byte()
        op, imm = byte & 0xF0, byte & 0x0F
        if op == 0x00:  # DONE
            if single or not lazy:
                break
            state = _BindState()
        elif weak and op in (0x10, 0x20, 0x30):
            raise r.fail(f"SET_DYLIB_* opcode {byte:#04x} in the weak-bind stream (which "
                         "binds by name, from no particular library)")
        elif op == 0x10:  # SET_DYLIB_ORDINAL_IMM
            state.ordinal = imm
        elif op == 0x20:  # SET_DYLIB_ORDINAL_ULEB
            state.ordinal = r.uleb()
        elif op == 0x30:  # SET_DYLIB_SPECIAL_IMM: 0, -1, -2 (sign-extended nibble)
            state.ordinal = imm - 16 if imm else 0
        elif op == 0x40:  # SET_SYMBOL_TRAILING_FLAGS_IMM
            state.flags, state.symbol = imm, r.cstring()
        elif op == 0x50:  # SET_TYPE_IMM
            state.type = imm
        elif op == 0x60:  # SET_ADDEND_SLEB
            state.addend = r.sleb()
        elif op == 0x70:  # SET_SEGMENT_AND_OFFSET_ULEB
            state.segment, state.offset = imm, r.uleb()
        elif op == 0x80:  # ADD_ADDR_ULEB
            state.offset = (state.offset + r.uleb()) & MASK64
        elif op == 0x90:  # DO_BIND
            emit(0)
        elif op == 0xA0:  # DO_BIND_ADD_ADDR_ULEB
            emit(r.uleb())
        elif op == 0xB0:  # DO_BIND_ADD_ADDR_IMM_SCALED
            emit(imm * pointer_size)
        elif op == 0xC0 and not lazy:  # DO_BIND_ULEB_TIMES_SKIPPING_ULEB
            count, skip = r.uleb(), r.uleb()
            if len(out) + count > limit:
                raise r.fail(f"repeat count {count} makes more than {limit} binds")
            for _ in range(count):
                emit(skip)
        else:
            raise r.fail(f"{'lazy ' if lazy else ''}bind opcode {byte:#04x} is not valid here")
    if single and not out:
        raise OpcodeError(stream, start, "no DO_BIND before the entry's DONE")
    return tuple(out)


class _BindState:
    """The registers of the bind state machine (reset by DONE in a lazy stream)."""

    def __init__(self) -> None:
        self.segment = -1
        self.offset = 0
        self.ordinal = 0
        self.symbol: str | None = None
        self.flags = 0
        self.type = BIND_TYPE_POINTER
        self.addend = 0


def read_uleb(data: bytes, pos: int, stream: str) -> tuple[int, int]:
    """One ULEB128 value at `pos`: (value, position after it); OpcodeError if malformed."""
    r = _Reader(data, stream)
    r.pos = r.op_at = pos
    return r.uleb(), r.pos
