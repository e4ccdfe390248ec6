"""LC_DYLD_INFO rules: the rebase, bind and lazy-bind opcode streams decode, and every
pointer they write lies in a writable segment; the export trie is well formed."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_BIND, DYLD_TRIE, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.image import MachOImage
from oracle.emulate.macho.opcodes import (
    BIND_TYPE_POINTER,
    REBASE_TYPE_POINTER,
    REBASE_TYPE_TEXT_ABSOLUTE32,
    Bind,
    OpcodeError,
    decode_binds,
    decode_rebases,
    read_uleb,
)

TOPIC = "dyld-info"
EXPORT_REEXPORT, EXPORT_STUB_AND_RESOLVER, EXPORT_KIND_ABSOLUTE = 0x8, 0x10, 0x2


def _place(img: MachOImage, segment: int, offset: int,
           text_allowed: bool = False) -> tuple[int, str | None]:
    """(address, problem) of a pointer written at segment+offset (`text_allowed`: an i386
    text rebase, which dyld applies by making the segment writable for the moment)."""
    if not 0 <= segment < len(img.segments):
        return 0, f"segment index {segment} does not exist"
    seg = img.segments[segment]
    addr = seg.vmaddr + offset
    if not seg.contains(addr, img.word):
        return addr, f"offset {offset:#x} is outside {seg.name}"
    if not seg.writable and not text_allowed:
        return addr, f"{addr:#x} is in {seg.name}, which is not writable"
    return addr, None


def _bind_problems(img: MachOImage, b: Bind) -> Iterator[str]:
    _, problem = _place(img, b.segment, b.offset)
    if problem:
        yield problem
    if b.type != BIND_TYPE_POINTER:
        yield f"bind type {b.type} is not BIND_TYPE_POINTER"
    if b.ordinal > len(img.dylibs) or b.ordinal < -2:
        yield f"library ordinal {b.ordinal} names no LC_LOAD_DYLIB ({len(img.dylibs)})"


def stream(img: MachOImage, which: str) -> bytes:
    info = img.dyld_info
    assert info is not None
    offset, size = getattr(info, which)
    return img.bytes_at(offset, size, f"{which} opcodes")


@rule("MACHO-REBASE", TOPIC,
      "rebase opcodes decode, and each rebases a pointer inside a writable segment; in an "
      "i386 file REBASE_TYPE_TEXT_ABSOLUTE32 may rebase __TEXT (ld64 -read_only_relocs "
      "suppress; dyld makes the segment writable while it rebases, as in Apple's own i386 "
      "bundles)", DYLD_BIND)
def rebases(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is None:
        return
    try:
        records = decode_rebases(stream(img, "rebase"), pointer_size=img.word,
                                 limit=img.fixup_limit)
    except OpcodeError as err:
        yield f"rebase+{err.offset:#x}", err.what
        return
    for r in records:
        text = not img.is64 and r.type == REBASE_TYPE_TEXT_ABSOLUTE32
        _, problem = _place(img, r.segment, r.offset, text_allowed=text)
        if problem:
            yield f"rebase+{r.opcode_offset:#x}", problem
        if r.type != REBASE_TYPE_POINTER and not text:
            yield f"rebase+{r.opcode_offset:#x}", f"type {r.type} is not REBASE_TYPE_POINTER"


@rule("MACHO-BIND", TOPIC,
      "bind and weak-bind opcodes decode; each binds a pointer in a writable segment from a "
      "library that exists", DYLD_BIND)
def binds(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is None:
        return
    for which in ("bind", "weak_bind"):
        try:
            records = decode_binds(stream(img, which), which, pointer_size=img.word,
                                   limit=img.fixup_limit)
        except OpcodeError as err:
            yield f"{which}+{err.offset:#x}", err.what
            continue
        for b in records:
            for problem in _bind_problems(img, b):
                yield f"{which}+{b.opcode_offset:#x} {b.symbol}", problem


@rule("MACHO-LAZY-BIND", TOPIC,
      "lazy-bind opcodes decode, one DONE-terminated entry per lazy pointer, each binding a "
      "slot of an S_LAZY_SYMBOL_POINTERS section", DYLD_BIND)
def lazy_binds(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is None:
        return
    try:
        records = decode_binds(stream(img, "lazy_bind"), "lazy_bind", lazy=True,
                               pointer_size=img.word, limit=img.fixup_limit)
    except OpcodeError as err:
        yield f"lazy_bind+{err.offset:#x}", err.what
        return
    lazy_sections = [s for s in img.sections() if s.type == mi.S_LAZY_SYMBOL_POINTERS]
    for b in records:
        where = f"lazy_bind+{b.opcode_offset:#x} {b.symbol}"
        for problem in _bind_problems(img, b):
            yield where, problem
        addr, _ = _place(img, b.segment, b.offset)
        if not any(s.addr <= addr < s.addr + s.size for s in lazy_sections):
            yield where, f"slot {addr:#x} is not in an S_LAZY_SYMBOL_POINTERS section"


@rule("MACHO-EXPORT-TRIE", TOPIC,
      "the export trie's nodes lie in the trie, without cycles, each terminal's size exact "
      "and each exported address inside a segment (LC_DYLD_INFO's trie, or "
      "LC_DYLD_EXPORTS_TRIE's beside chained fixups); an edge with an empty label is "
      "followed as dyld's trieWalk follows it (ld64 writes them, e.g. from the node of "
      "_LLVMPY_RunPassManager to its terminal, after the edge to ...WithRemarks), so it is "
      "wrong only where it hides something: below a terminal node, where the walk stops, "
      "or before other edges, which the walk then never tries", DYLD_TRIE)
def export_trie(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.dyld_info is not None and img.dyld_info.export[1]:
        trie = stream(img, "export")
    elif img.exports_trie is not None and img.exports_trie[1]:
        trie = img.bytes_at(*img.exports_trie, "LC_DYLD_EXPORTS_TRIE data")
    else:
        return
    base = img.header_address()
    seen: set[int] = set()
    pending: list[tuple[int, str]] = [(0, "")]
    while pending:
        node, prefix = pending.pop()
        where = f"export trie node {node:#x} ({prefix or 'root'})"
        if node in seen:
            yield where, "reached twice (a cycle or a shared node)"
            continue
        seen.add(node)
        try:
            problem, terminal, children = _read_node(img, trie, node, base)
        except OpcodeError as err:
            yield where, f"at +{err.offset:#x}: {err.what}"
            continue
        if problem:
            yield where, problem
        for k, (edge, child) in enumerate(children):
            if not edge and terminal:
                yield where, ("an edge with an empty label below a terminal node: dyld's "
                              "walk stops at the node and never takes it")
            elif not edge and k + 1 < len(children):
                yield where, ("an edge with an empty label before other edges: dyld takes "
                              "it whatever the name, so the edges after it are never taken")
            if child >= len(trie) or child == 0:
                yield where, f"child offset {child:#x} is outside the trie ({len(trie)} bytes)"
            else:
                pending.append((child, prefix + edge))


def _read_node(img: MachOImage, trie: bytes, node: int, base: int
               ) -> tuple[str | None, bool, list[tuple[str, int]]]:
    """(a problem of the node's terminal, whether it is terminal, its (edge, child)s)."""
    size, pos = read_uleb(trie, node, "export")
    problem = None
    if size:
        end = pos + size
        flags, cursor = read_uleb(trie, pos, "export")
        if flags & EXPORT_REEXPORT:
            _, cursor = read_uleb(trie, cursor, "export")
            name_end = trie.find(b"\0", cursor)
            cursor = len(trie) + 1 if name_end < 0 else name_end + 1
        else:
            address, cursor = read_uleb(trie, cursor, "export")
            if flags & EXPORT_STUB_AND_RESOLVER:
                _, cursor = read_uleb(trie, cursor, "export")
            if not flags & EXPORT_KIND_ABSOLUTE and img.segment_at(base + address) is None:
                problem = f"exports address {base + address:#x}, which no segment maps"
        if cursor != end:
            problem = f"terminal info is {cursor - pos} bytes, its size says {size}"
        pos = end
    if pos >= len(trie):
        raise OpcodeError("export", pos, "child count past the end of the trie")
    count = trie[pos]
    pos += 1
    children = []
    for _ in range(count):
        edge_end = trie.find(b"\0", pos)
        if edge_end < 0:
            raise OpcodeError("export", pos, "edge label is not NUL-terminated")
        edge = trie[pos:edge_end].decode("utf-8", "replace")
        child, pos = read_uleb(trie, edge_end + 1, "export")
        children.append((edge, child))
    return problem, bool(size), children
