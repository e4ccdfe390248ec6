"""sscanf: the conversions C test programs use (d i u o x X c s [set] n p, e f g with l/L
for double, hh h l ll j z t length modifiers, widths, `*` suppression), with glibc's
return value: the number of assignments, or EOF (-1) when the input ends before the first
conversion.  Results are written through the pointers among the variadic arguments.
"""

from __future__ import annotations

import re
import struct

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestMemory, VarArgs
from oracle.emulate.libc import longdouble

SPACES = b" \t\n\v\f\r"
_SPEC = re.compile(rb"%(\*?)(\d*)(hh|h|ll|l|L|j|z|t|q)?([diouxXcsnpaeEfgG%]|\[\^?\]?[^]]*\])")
_INT = {b"d": (10, True), b"i": (0, True), b"u": (10, False), b"o": (8, False),
        b"x": (16, False), b"X": (16, False), b"p": (16, False)}
_FLOAT = re.compile(rb"[+-]?(inf(inity)?|nan|0x([\da-f]+\.?[\da-f]*|\.[\da-f]+)(p[+-]?\d+)?"
                    rb"|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)", re.IGNORECASE)


def _int_size(length: bytes | None, word: int) -> int:
    return {b"hh": 1, b"h": 2, b"l": word, b"z": word, b"t": word, b"j": 8, b"ll": 8,
            b"q": 8, b"L": 8}.get(length or b"", 4)


def _scan_int(text: bytes, at: int, width: int, base: int) -> tuple[int, int] | None:
    end = len(text) if width == 0 else min(len(text), at + width)
    pattern = {0: rb"[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)", 8: rb"[+-]?[0-7]+",
               10: rb"[+-]?\d+", 16: rb"[+-]?(0[xX])?[0-9a-fA-F]+"}[base]
    match = re.compile(pattern).match(text, at, end)
    if not match:
        return None
    return int(match.group(0), base), match.end()


def _charset(spec: bytes) -> tuple[bool, bytes]:
    body = spec[1:-1]
    negate = body.startswith(b"^")
    body = body[1:] if negate else body
    chars = bytearray()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == ord("-"):
            chars += bytes(range(body[i], body[i + 2] + 1))
            i += 3
        else:
            chars.append(body[i])
            i += 1
    return negate, bytes(chars)


def scan(mem: GuestMemory, text: bytes, fmt: bytes, args: VarArgs, word: int) -> int:
    """sscanf(text, fmt, ...): the number of assignments, or -1 (EOF) when the input ended
    before the first conversion."""
    return scan_counted(mem, text, fmt, args, word)[0]


def scan_counted(mem: GuestMemory, text: bytes, fmt: bytes, args: VarArgs, word: int
                 ) -> tuple[int, int]:
    """sscanf's result, and how many bytes of `text` it consumed (for the streams)."""
    at = 0  # position in text
    pos = 0  # position in fmt
    assigned = 0
    converted_any = False
    while pos < len(fmt):
        ch = fmt[pos]
        if ch in SPACES:
            while at < len(text) and text[at] in SPACES:
                at += 1
            pos += 1
            continue
        if ch != ord("%"):
            if at >= len(text):
                return (assigned if converted_any else -1), at
            if text[at] != ch:
                return assigned, at
            at, pos = at + 1, pos + 1
            continue
        match = _SPEC.match(fmt, pos)
        if match is None:
            return assigned, at
        pos = match.end()
        suppress, width_text, length, conv = match.groups()
        width = int(width_text) if width_text else 0
        if conv == b"%":
            if at < len(text) and text[at] == ord("%"):
                at += 1
                continue
            return assigned, at
        if conv == b"n":
            if not suppress:
                mem.write(args.next_int(word), (at & 0xFFFFFFFF).to_bytes(4, "little"))
            continue
        if conv not in (b"c",) and not conv.startswith(b"["):
            while at < len(text) and text[at] in SPACES:
                at += 1
        if at >= len(text):
            return (assigned if converted_any else -1), at
        if conv in _INT:
            base, _ = _INT[conv]
            parsed = _scan_int(text, at, width, base)
            if parsed is None:
                return assigned, at
            value, at = parsed
            size = word if conv == b"p" else _int_size(length, word)
            if not suppress:
                mem.write(args.next_int(word), (value & ((1 << (8 * size)) - 1)).to_bytes(
                    size, "little"))
        elif conv in (b"s", b"c") or conv.startswith(b"["):
            if conv == b"c":
                data = text[at : at + (width or 1)]
            elif conv == b"s":
                end = at
                while end < len(text) and text[end] not in SPACES and (
                        not width or end - at < width):
                    end += 1
                data = text[at:end]
            else:
                negate, chars = _charset(conv)
                end = at
                while end < len(text) and (text[end] in chars) != negate and (
                        not width or end - at < width):
                    end += 1
                data = text[at:end]
            if not data:
                return assigned, at
            at += len(data)
            if not suppress:
                mem.write(args.next_int(word), data + (b"" if conv == b"c" else b"\0"))
        else:
            limit = len(text) if width == 0 else min(len(text), at + width)
            found = _FLOAT.match(text, at, limit)
            if found is None:
                return assigned, at
            at = found.end()
            if not suppress:
                number = _float(found.group(0))
                if length == b"L":  # the text rounded once, to the x87 format
                    raw = longdouble.parse(found.group(0))
                else:
                    raw = struct.pack("<d" if length == b"l" else "<f", number)
                mem.write(args.next_int(word), raw)
        converted_any = True
        if not suppress:
            assigned += 1
    return assigned, at


def _float(text: bytes) -> float:
    """strtod of a matched number: decimal, hexadecimal (0x1.8p3), inf or nan."""
    body = text.lstrip(b"+-")
    if body[:2].lower() == b"0x":
        magnitude = float.fromhex(body.decode("ascii"))
        return -magnitude if text.startswith(b"-") else magnitude
    return float(text)


def sscanf(ctx: CallContext) -> int:
    text, fmt = ctx.mem.read_cstr(ctx.arg(0)), ctx.mem.read_cstr(ctx.arg(1))
    return scan(ctx.mem, text, fmt, ctx.varargs(2), ctx.word)


EXPORTS = (
    Export("sscanf", 2, sscanf),
    Export("__isoc99_sscanf", 2, sscanf),
    Export("__isoc23_sscanf", 2, sscanf),
)
