"""getenv, setenv, unsetenv and putenv over `environ`, read through the variable (the
executable's COPY when there is one), so that a program reassigning environ is seen.
New strings and grown arrays come from the heap, as glibc's do.
"""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export

EINVAL = 22


def _environ_var(ctx: CallContext) -> int:
    return ctx.process.object_address("environ")


def _entries(ctx: CallContext) -> tuple[int, list[int]]:
    """(address of the array, the string pointers before its NULL)."""
    word = ctx.word
    array = int.from_bytes(ctx.mem.read(_environ_var(ctx), word), "little")
    out: list[int] = []
    while array:
        entry = int.from_bytes(ctx.mem.read(array + word * len(out), word), "little")
        if entry == 0:
            break
        out.append(entry)
    return array, out


def _find(ctx: CallContext, name: bytes) -> tuple[int, int, list[int]]:
    """(index of NAME=..., or -1; the array; its entries)."""
    array, entries = _entries(ctx)
    prefix = name + b"="
    for index, entry in enumerate(entries):
        if ctx.mem.read(entry, len(prefix)) == prefix:
            return index, array, entries
    return -1, array, entries


def getenv(ctx: CallContext) -> int:
    return lookup(ctx, ctx.mem.read_cstr(ctx.arg(0)))


def lookup(ctx: CallContext, name: bytes) -> int:
    """getenv(name) for the library itself: the value's address, or 0."""
    index, _, entries = _find(ctx, name)
    return 0 if index < 0 else entries[index] + len(name) + 1


def _store(ctx: CallContext, name: bytes, entry: int) -> int:
    """Point NAME's slot at `entry`, growing the array (a new one on the heap) if needed."""
    index, array, entries = _find(ctx, name)
    word = ctx.word
    if index >= 0:
        ctx.mem.write(array + word * index, entry.to_bytes(word, "little"))
        return 0
    grown = ctx.process.ensure_heap().malloc(word * (len(entries) + 2))
    if grown == 0:
        return -1
    table = [*entries, entry, 0]
    ctx.mem.write(grown, b"".join(e.to_bytes(word, "little") for e in table))
    ctx.mem.write(_environ_var(ctx), grown.to_bytes(word, "little"))
    return 0


def setenv(ctx: CallContext) -> int:
    name, value = ctx.mem.read_cstr(ctx.arg(0)), ctx.mem.read_cstr(ctx.arg(1))
    overwrite = ctx.arg(2) & 0xFFFFFFFF
    if not name or b"=" in name:
        return -1
    if not overwrite and _find(ctx, name)[0] >= 0:
        return 0
    text = name + b"=" + value + b"\0"
    entry = ctx.process.ensure_heap().malloc(len(text))
    if entry == 0:
        return -1
    ctx.mem.write(entry, text)
    return _store(ctx, name, entry)


def putenv(ctx: CallContext) -> int:
    entry = ctx.arg(0)
    text = ctx.mem.read_cstr(entry)
    if b"=" not in text:
        return unsetenv_name(ctx, text)
    return _store(ctx, text.split(b"=", 1)[0], entry)


def unsetenv(ctx: CallContext) -> int:
    return unsetenv_name(ctx, ctx.mem.read_cstr(ctx.arg(0)))


def unsetenv_name(ctx: CallContext, name: bytes) -> int:
    if not name or b"=" in name:
        return -1
    word = ctx.word
    while True:
        index, array, entries = _find(ctx, name)
        if index < 0:
            return 0
        rest = [*entries[index + 1 :], 0]
        ctx.mem.write(array + word * index, b"".join(e.to_bytes(word, "little") for e in rest))


EXPORTS = (
    Export("getenv", 1, getenv),
    Export("secure_getenv", 1, getenv),
    Export("setenv", 3, setenv),
    Export("unsetenv", 1, unsetenv),
    Export("putenv", 1, putenv),
)
