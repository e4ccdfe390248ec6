"""The compressed dyld information of LC_DYLD_INFO_ONLY: rebase, bind and lazy-bind opcode
streams, and the export trie (<mach-o/loader.h>).

Opcode streams are tiny interpreted programs.  Each entry here is written in the plainest
complete form (set segment and offset, act), which every dyld accepts; the lazy-bind
stream must be in that form anyway, because each stub helper pushes the offset of its
own entry and dyld starts interpreting there.
"""

from __future__ import annotations

from ..records import dataclass

REBASE_TYPE_POINTER, REBASE_TYPE_TEXT_ABSOLUTE32 = 1, 2
REBASE_OPCODE_SET_TYPE_IMM = 0x10
REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB = 0x20
REBASE_OPCODE_DO_REBASE_IMM_TIMES = 0x50
BIND_TYPE_POINTER = 1
BIND_OPCODE_DONE = 0x00
BIND_OPCODE_SET_DYLIB_ORDINAL_IMM = 0x10
BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB = 0x20
BIND_OPCODE_SET_DYLIB_SPECIAL_IMM = 0x30
BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM = 0x40
BIND_OPCODE_SET_TYPE_IMM = 0x50
BIND_OPCODE_SET_ADDEND_SLEB = 0x60
BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB = 0x70
BIND_OPCODE_DO_BIND = 0x90
BIND_SYMBOL_FLAGS_WEAK_IMPORT = 0x1
EXPORT_SYMBOL_FLAGS_KIND_REGULAR = 0x0
EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION = 0x4


def uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


@dataclass(frozen=True, slots=True)
class BindEntry:
    segment: int  # index of the segment in load-command order
    offset: int  # within the segment
    ordinal: int  # library ordinal (1-based LC_LOAD_DYLIB order; -2 flat lookup)
    name: str
    addend: int = 0
    weak_import: bool = False


def rebase_opcodes(sites: list[tuple[int, int]], text_segments: frozenset[int] = frozenset()
                   ) -> bytes:
    """Rebase every pointer at (segment index, offset); those in `text_segments` (an i386
    dylib's __TEXT) as REBASE_TYPE_TEXT_ABSOLUTE32, the type dyld rebases code with."""
    if not sites:
        return b""
    out = bytearray()
    kind = None
    for segment, offset in sorted(sites):
        wanted = REBASE_TYPE_TEXT_ABSOLUTE32 if segment in text_segments else REBASE_TYPE_POINTER
        if wanted != kind:
            out.append(REBASE_OPCODE_SET_TYPE_IMM | wanted)
            kind = wanted
        out.append(REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | segment)
        out += uleb128(offset)
        out.append(REBASE_OPCODE_DO_REBASE_IMM_TIMES | 1)
    out.append(0)
    return _pad8(out)


def _bind_entry(entry: BindEntry, out: bytearray) -> None:
    if entry.ordinal <= 0:  # self (0), main executable (-1), flat lookup (-2)
        out.append(BIND_OPCODE_SET_DYLIB_SPECIAL_IMM | (entry.ordinal & 0xF))
    elif entry.ordinal <= 15:
        out.append(BIND_OPCODE_SET_DYLIB_ORDINAL_IMM | entry.ordinal)
    else:
        out.append(BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB)
        out += uleb128(entry.ordinal)
    flags = BIND_SYMBOL_FLAGS_WEAK_IMPORT if entry.weak_import else 0
    out.append(BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM | flags)
    out += entry.name.encode("utf-8", "surrogateescape") + b"\0"


def bind_opcodes(entries: list[BindEntry]) -> bytes:
    """Non-lazy binds: GOT slots and pointers to imports in data, bound at load time."""
    if not entries:
        return b""
    out = bytearray([BIND_OPCODE_SET_TYPE_IMM | BIND_TYPE_POINTER])
    for e in entries:
        _bind_entry(e, out)
        if e.addend:
            out.append(BIND_OPCODE_SET_ADDEND_SLEB)
            out += sleb128(e.addend)
        out.append(BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | e.segment)
        out += uleb128(e.offset)
        out.append(BIND_OPCODE_DO_BIND)
        if e.addend:
            out.append(BIND_OPCODE_SET_ADDEND_SLEB)
            out += sleb128(0)
    out.append(BIND_OPCODE_DONE)
    return _pad8(out)


def weak_bind_opcodes(entries: list[BindEntry]) -> bytes:
    """The weak-bind stream: the sites dyld coalesces by name across every image (no
    library ordinal: the SET_DYLIB_* opcodes are not allowed there), sorted by name as
    dyld's coalescing walks them."""
    if not entries:
        return b""
    out = bytearray([BIND_OPCODE_SET_TYPE_IMM | BIND_TYPE_POINTER])
    for e in sorted(entries, key=lambda e: (e.name, e.segment, e.offset)):
        out.append(BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM)
        out += e.name.encode("utf-8", "surrogateescape") + b"\0"
        out.append(BIND_OPCODE_SET_ADDEND_SLEB)
        out += sleb128(e.addend)
        out.append(BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | e.segment)
        out += uleb128(e.offset)
        out.append(BIND_OPCODE_DO_BIND)
    out.append(BIND_OPCODE_DONE)
    return _pad8(out)


def lazy_bind_opcodes(entries: list[BindEntry]) -> tuple[bytes, list[int]]:
    """The lazy-bind stream, and the offset of each entry in it (what its helper pushes)."""
    out = bytearray()
    starts = []
    for e in entries:
        starts.append(len(out))
        out.append(BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | e.segment)
        out += uleb128(e.offset)
        _bind_entry(e, out)
        out.append(BIND_OPCODE_DO_BIND)
        out.append(BIND_OPCODE_DONE)
    return (_pad8(out) if out else b""), starts


def _pad8(data: bytearray) -> bytes:
    return bytes(data + bytes(-len(data) % 8))


# -- the export trie ----------------------------------------------------------------------

@dataclass
class _Node:
    edges: dict[str, _Node]
    address: int | None = None  # offset from the image base, when a symbol ends here
    flags: int = 0
    offset: int = 0


def _insert(root: _Node, name: str, address: int, flags: int) -> None:
    node = root
    while True:
        for edge, child in list(node.edges.items()):
            common = _common_prefix(edge, name)
            if not common:
                continue
            if common == len(edge):
                node, name = child, name[common:]
                break
            # Split the edge at the shared prefix.
            middle = _Node({edge[common:]: child})
            del node.edges[edge]
            node.edges[edge[:common]] = middle
            node, name = middle, name[common:]
            break
        else:
            if name:
                node.edges[name] = _Node({}, address, flags)
            else:
                node.address, node.flags = address, flags
            return
        if not name:
            node.address, node.flags = address, flags
            return


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def export_trie(exports: list[tuple[str, int, int]]) -> bytes:
    """A trie of (symbol name, offset from the image base, flags): regular exports, with
    EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION where asked."""
    root = _Node({})
    for name, address, flags in sorted(exports):
        _insert(root, name, address, flags)
    nodes: list[_Node] = []
    stack = [root]
    while stack:  # preorder: parents before children
        node = stack.pop()
        nodes.append(node)
        stack.extend(reversed(list(node.edges.values())))
    # Offsets depend on ULEB sizes of offsets: iterate to a fixed point.
    while True:
        changed = False
        pos = 0
        for node in nodes:
            if node.offset != pos:
                node.offset, changed = pos, True
            pos += len(_encode(node))
        if not changed:
            break
    return _pad8(bytearray(b"".join(_encode(n) for n in nodes)))


def _encode(node: _Node) -> bytes:
    out = bytearray()
    if node.address is None:
        out.append(0)
    else:
        info = uleb128(EXPORT_SYMBOL_FLAGS_KIND_REGULAR | node.flags) + uleb128(node.address)
        out += uleb128(len(info)) + info
    out.append(len(node.edges))
    for edge, child in node.edges.items():
        out += edge.encode("utf-8", "surrogateescape") + b"\0" + uleb128(child.offset)
    return bytes(out)
