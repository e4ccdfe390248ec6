"""The printf engine: a format and its variadic arguments to the bytes glibc would print.

`format_printf` walks the format, fetching each argument with the size the ABI gives it: the
length modifier decides (none, hh, h: an `int`, 4 bytes; l, z, t: the ABI word; ll, q, j and
L on integers: 8 bytes).  Floating conversions fetch a double, or with L a `long double`
(x87 80-bit, see longdouble.py).  Positional arguments, `%m` and wide characters outside
ASCII are refused with a FormatError.  Unknown conversions are copied verbatim,
as glibc does.
"""

from __future__ import annotations

from oracle.emulate.guest import GuestMemory, VarArgs
from oracle.emulate.libc import longdouble
from oracle.emulate.libc.abi import c_int, mask, signed
from oracle.emulate.libc.fmtfloat import render_float
from oracle.emulate.libc.fmtint import pad, render_integer, render_pointer, render_string
from oracle.emulate.libc.fmtspec import STAR, ConvSpec, FormatError, parse_spec
from oracle.emulate.libc.reading import PAGE, read_bounded

# Output beyond this is treated as a runaway format (glibc fails at INT_MAX with EOVERFLOW).
MAX_OUTPUT = 1 << 24
WCHAR_SIZE = 4  # wchar_t and wint_t are 32-bit on Linux, both ABIs


def integer_size(length: str, word: int) -> int:
    """Bytes of the argument behind an integer conversion with this length modifier."""
    if length in ("l", "z", "Z", "t"):
        return word
    if length in ("ll", "q", "j", "L"):
        return 8
    return 4


def _value_bits(length: str, word: int) -> int:
    """Bytes that carry the value: hh and h narrow the promoted int back to char/short."""
    return {"hh": 1, "h": 2}.get(length, integer_size(length, word))


def format_printf(mem: GuestMemory, fmt: bytes, args: VarArgs, *, word: int = 8) -> bytes:
    """What printf(fmt, ...) prints, given the arguments `args` (see module docstring)."""
    out = bytearray()
    at = 0
    while True:
        percent = fmt.find(b"%", at)
        if percent < 0:
            out += fmt[at:]
            return bytes(out)
        out += fmt[at:percent]
        spec, at = parse_spec(fmt, percent)
        out += _convert(mem, spec, args, word, len(out), percent)
        if len(out) > MAX_OUTPUT:
            raise FormatError(percent, f"printf output exceeds {MAX_OUTPUT} bytes")


def _convert(
    mem: GuestMemory, spec: ConvSpec, args: VarArgs, word: int, written: int, where: int
) -> bytes:
    flags, width, precision = spec.flags, spec.width, spec.precision
    if width == STAR:
        width = c_int(args.next_int(4))
        if width < 0:
            flags, width = flags + "-", -width
    if precision == STAR:
        precision = c_int(args.next_int(4))
        if precision < 0:
            precision = None
    if (width or 0) > MAX_OUTPUT or (precision or 0) > MAX_OUTPUT:
        raise FormatError(where, "printf width or precision too large")
    conv, length = spec.conv, spec.length
    if conv == "%":
        return b"%"
    if conv in ("d", "i"):
        raw = args.next_int(integer_size(length, word))
        value = signed(raw, _value_bits(length, word))
        return render_integer(value, conv, flags, width, precision)
    if conv and conv in "uoxX":
        raw = args.next_int(integer_size(length, word))
        value = mask(raw, _value_bits(length, word))
        return render_integer(value, conv, flags, width, precision)
    if conv and conv in "eEfFgGaA":
        if length == "L":
            return longdouble.render(args.next_long_double(), conv, flags, width, precision)
        return render_float(args.next_double(), conv, flags, width, precision)
    if conv == "c":
        code = args.next_int(4)
        char = _wide_char(code, where) if length == "l" else bytes([code & 0xFF])
        return pad(char, width, flags)
    if conv == "s":
        return _string(mem, args.next_int(word), length, flags, width, precision, where)
    if conv == "p":
        return render_pointer(args.next_int(word), flags, width, precision)
    if conv == "n":
        pointer = args.next_int(word)
        size = _value_bits(length, word)
        mem.write(pointer, mask(written, size).to_bytes(size, "little"))
        return b""
    if conv == "":
        raise FormatError(where, "format ends inside a conversion specification")
    if conv == "m":
        raise FormatError(where, "%m needs errno, which the emulator does not model")
    return _unknown(conv, flags, width, precision)


def _unknown(conv: str, flags: str, width: int | None, precision: int | None) -> bytes:
    """glibc reprints an unknown conversion from its parsed form: flags in a fixed order,
    the resolved width and precision, no length modifier."""
    text = "%" + "".join(f for f in "#'" if f in flags)
    text += "+" if "+" in flags else (" " if " " in flags else "")
    text += "-" if "-" in flags else ("0" if "0" in flags else "")  # `-` cancels `0`
    text += "I" if "I" in flags else ""
    text += str(width) if width else ""
    text += "" if precision is None else f".{precision}"
    return (text + conv).encode("latin-1")


def _wide_char(code: int, where: int) -> bytes:
    code = mask(code, WCHAR_SIZE)
    if code >= 0x80:
        raise FormatError(where, f"wide character {code:#x} outside ASCII (C locale)")
    return bytes([code])


def _string(
    mem: GuestMemory,
    pointer: int,
    length: str,
    flags: str,
    width: int | None,
    precision: int | None,
    where: int,
) -> bytes:
    if pointer == 0:
        # glibc prints "(null)" only when the precision leaves room for all of it.
        text = b"(null)" if precision is None or precision >= 6 else b""
        return pad(text, width, flags)
    if length == "l":
        return render_string(_wide_string(mem, pointer, precision, where), flags, width, None)
    text = mem.read_cstr(pointer) if precision is None else read_bounded(mem, pointer, precision)
    return render_string(text, flags, width, precision)


def _wide_string(mem: GuestMemory, pointer: int, precision: int | None, where: int) -> bytes:
    """A wchar_t string converted to (ASCII) bytes, at most `precision` of them."""
    limit = 1 << 20 if precision is None else precision
    out = bytearray()
    addr = pointer
    while len(out) < limit:
        count = max(1, (PAGE - addr % PAGE) // WCHAR_SIZE)
        codes = memoryview(mem.read(addr, WCHAR_SIZE * count)).cast("I")
        for code in codes[: limit - len(out)]:
            if code == 0:
                return bytes(out)
            out += _wide_char(code, where)
        addr += WCHAR_SIZE * count
    return bytes(out)
