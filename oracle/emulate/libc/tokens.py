"""Spans and tokens of <string.h>: strspn, strcspn, strpbrk, strtok_r.

Each reads the string and the character set whole and answers with bytes methods (a
left-strip for spans, a find per set member for breaks), not a loop over the guest bytes.
strtok_r keeps its state in the guest's `saveptr`, so it needs none here; plain strtok
(hidden static state) is left to a core that keeps per-process state.
"""

from __future__ import annotations

from oracle.emulate.guest import GuestMemory


def span(text: bytes, accept: bytes) -> int:
    """Length of the leading run of `text` made only of bytes in `accept`."""
    return len(text) - len(text.lstrip(accept)) if accept else 0


def break_at(text: bytes, reject: bytes) -> int:
    """Index of the first byte of `text` in `reject` (len(text) when none is)."""
    hits = [at for at in (text.find(bytes([c])) for c in set(reject)) if at >= 0]
    return min(hits, default=len(text))


def strspn(mem: GuestMemory, s: int, accept: int) -> int:
    return span(mem.read_cstr(s), mem.read_cstr(accept))


def strcspn(mem: GuestMemory, s: int, reject: int) -> int:
    return break_at(mem.read_cstr(s), mem.read_cstr(reject))


def strpbrk(mem: GuestMemory, s: int, accept: int) -> int:
    text = mem.read_cstr(s)
    at = break_at(text, mem.read_cstr(accept))
    return 0 if at == len(text) else s + at


def strtok_r(mem: GuestMemory, s: int, delim: int, saveptr: int, *, word: int) -> int:
    """The next token of `s` (or, when s is NULL, of the string *saveptr points into)."""
    if s == 0:
        s = int.from_bytes(mem.read(saveptr, word), "little")
    text = mem.read_cstr(s)
    delims = mem.read_cstr(delim)
    start = span(text, delims)
    if start == len(text):  # only delimiters left: no token, and the state stays at the end
        mem.write(saveptr, (s + start).to_bytes(word, "little"))
        return 0
    end = start + break_at(text[start:], delims)
    after = end
    if end < len(text):
        mem.write(s + end, b"\0")
        after = end + 1
    mem.write(saveptr, (s + after).to_bytes(word, "little"))
    return s + start
