"""<ctype.h> classification and case mapping in the C locale, plus abs and labs.

The is* functions return glibc's class bit, not 1: glibc answers from a table of 16-bit
masks (`__ctype_b`), so isdigit('5') is 2048 and isalnum('a') is 8.  Only 0..127 have
classes in the C locale; EOF (-1) and bytes 128..255 have none.
"""

from __future__ import annotations

from oracle.emulate.guest import GuestMemory
from oracle.emulate.libc.abi import c_int, signed

# glibc's class bits as they appear in the 16-bit table on little-endian machines.
UPPER, LOWER, ALPHA, DIGIT = 0x100, 0x200, 0x400, 0x800
XDIGIT, SPACE, PRINT, GRAPH = 0x1000, 0x2000, 0x4000, 0x8000
BLANK, CNTRL, PUNCT, ALNUM = 0x1, 0x2, 0x4, 0x8


def _classes(code: int) -> int:
    char = chr(code)
    bits = 0
    bits |= UPPER if "A" <= char <= "Z" else 0
    bits |= LOWER if "a" <= char <= "z" else 0
    bits |= ALPHA if char.isascii() and char.isalpha() else 0
    bits |= DIGIT if "0" <= char <= "9" else 0
    bits |= XDIGIT if char in "0123456789abcdefABCDEF" else 0
    bits |= SPACE if char in " \t\n\v\f\r" else 0
    bits |= PRINT if 0x20 <= code < 0x7F else 0
    bits |= GRAPH if 0x20 < code < 0x7F else 0
    bits |= BLANK if char in " \t" else 0
    bits |= CNTRL if code < 0x20 or code == 0x7F else 0
    bits |= ALNUM if bits & (ALPHA | DIGIT) else 0
    bits |= PUNCT if bits & GRAPH and not bits & ALNUM else 0
    return bits


CLASS_TABLE = tuple(_classes(code) for code in range(128))

# glibc's tables as compiled code reads them through __ctype_b_loc(), __ctype_toupper_loc()
# and __ctype_tolower_loc(): 384 entries for c = -128..255, and the pointer the program
# holds points at the entry for c = 0 (TABLE_ORIGIN entries in), so table[-1] is EOF's.
TABLE_ORIGIN = 128
TABLE_RANGE = range(-128, 256)


class _NoMemory:
    """The case functions never touch memory; building the tables needs no guest."""

    def read(self, addr: int, size: int) -> bytes:
        raise AssertionError("ctype reads no memory")

    def write(self, addr: int, data: bytes) -> None:
        raise AssertionError("ctype writes no memory")

    def read_cstr(self, addr: int, limit: int = 1 << 20) -> bytes:
        raise AssertionError("ctype reads no memory")


_NO_MEMORY = _NoMemory()


def classify(c: int, bit: int) -> int:
    """glibc's `__ctype_b[c] & bit` for an int argument c."""
    code = c_int(c)
    return CLASS_TABLE[code] & bit if 0 <= code < 128 else 0


def isdigit(mem: GuestMemory, c: int) -> int:
    return classify(c, DIGIT)


def isalpha(mem: GuestMemory, c: int) -> int:
    return classify(c, ALPHA)


def isspace(mem: GuestMemory, c: int) -> int:
    return classify(c, SPACE)


def isalnum(mem: GuestMemory, c: int) -> int:
    return classify(c, ALNUM)


def isupper(mem: GuestMemory, c: int) -> int:
    return classify(c, UPPER)


def islower(mem: GuestMemory, c: int) -> int:
    return classify(c, LOWER)


def isxdigit(mem: GuestMemory, c: int) -> int:
    return classify(c, XDIGIT)


def isprint(mem: GuestMemory, c: int) -> int:
    return classify(c, PRINT)


def ispunct(mem: GuestMemory, c: int) -> int:
    return classify(c, PUNCT)


def _case_argument(c: int) -> int:
    """glibc's case tables cover -128..255 and map a negative (signed char) argument other
    than EOF to the unsigned byte: toupper(-128) is 128."""
    code = c_int(c)
    return code & 0xFF if -128 <= code < -1 else code


def toupper(mem: GuestMemory, c: int) -> int:
    code = _case_argument(c)
    return code - 0x20 if 0x61 <= code <= 0x7A else code


def tolower(mem: GuestMemory, c: int) -> int:
    code = _case_argument(c)
    return code + 0x20 if 0x41 <= code <= 0x5A else code


def abs_(mem: GuestMemory, x: int) -> int:
    """abs(INT_MIN) overflows; glibc's result is INT_MIN again, as two's complement gives."""
    return signed(abs(c_int(x)), 4)


def labs(mem: GuestMemory, x: int, *, word: int) -> int:
    return signed(abs(signed(x, word)), word)


def _table_bytes(entry: int, values: list[int]) -> bytes:
    return b"".join((v & ((1 << 8 * entry) - 1)).to_bytes(entry, "little") for v in values)


def class_table_bytes() -> bytes:
    """`unsigned short[384]`: the class bits of every c in TABLE_RANGE."""
    return _table_bytes(2, [classify(c, 0xFFFF) for c in TABLE_RANGE])


def toupper_table_bytes() -> bytes:
    """`int32_t[384]`: toupper(c) for every c in TABLE_RANGE."""
    return _table_bytes(4, [toupper(_NO_MEMORY, c) for c in TABLE_RANGE])


def tolower_table_bytes() -> bytes:
    """`int32_t[384]`: tolower(c) for every c in TABLE_RANGE."""
    return _table_bytes(4, [tolower(_NO_MEMORY, c) for c in TABLE_RANGE])
