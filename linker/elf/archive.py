"""Static archives (`ar` format): members, long names and the symbol index.

The layout: an 8-byte magic, then members, each a 60-byte text header (name, date, uid,
gid, mode, decimal size, "`\\n") followed by its data padded to an even offset.  Special
members: "/" (the System V symbol index: big-endian count, member offsets, names),
"/SYM64/" (the same with 64-bit words), "//" (the long-name table that "/123" names point
into), and BSD's "#1/LEN" names stored in front of the data.  A thin archive ("!<thin>")
stores only headers; its members are files named relative to the archive.

An archive without an index is indexed here by reading each member's symbol table, which
is what GNU ld does (it does not require `ranlib`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..errors import LinkError
from ..input_file import read_input_status
from ..model import BIND_LOCAL, UNDEF, Archive, ArchiveMember
from .read import read_object

AR_MAGIC, THIN_MAGIC = b"!<arch>\n", b"!<thin>\n"
HEADER_SIZE = 60


def member_path(archive: Archive, member: ArchiveMember) -> str:
    return f"{archive.path}({member.name})"


def read_archive(data: memoryview, path: str,
                 defined_names: Callable[[memoryview, str], list[str]] | None = None) -> Archive:
    """`defined_names(member bytes, member path)` lists what a member defines, for archives
    without a System V index (Mach-O archives carry a BSD index we do not read)."""
    thin = bytes(data[:8]) == THIN_MAGIC
    members: list[ArchiveMember] = []
    long_names = b""
    index_blob: tuple[memoryview, int] | None = None
    offset_to_member: dict[int, int] = {}
    pos = 8
    size_total = len(data)
    while pos < size_total:
        if pos + HEADER_SIZE > size_total:
            if bytes(data[pos:]).strip(b"\n") == b"":
                break
            raise LinkError("truncated archive member header", file=path, offset=pos)
        header = bytes(data[pos:pos + HEADER_SIZE])
        if header[58:60] != b"`\n":
            raise LinkError("bad archive member header (no terminator)", file=path, offset=pos)
        raw_name = header[:16].decode("latin-1").rstrip(" ")
        try:
            size = int(header[48:58].decode("ascii").strip() or "0")
        except ValueError:
            raise LinkError(f"bad archive member size {header[48:58]!r}", file=path,
                            offset=pos + 48) from None
        start = pos + HEADER_SIZE
        stored = 0 if thin and raw_name not in ("/", "//", "/SYM64/") else size
        if size < 0 or start + stored > size_total:
            raise LinkError(f"archive member of size {size} runs past end of file "
                            f"({size_total} bytes)", file=path, offset=pos)
        body = data[start:start + stored]
        if raw_name in ("/", "/SYM64/"):
            index_blob = (body, 8 if raw_name == "/SYM64/" else 4)
        elif raw_name == "//":
            long_names = bytes(body)
        elif raw_name == "__.SYMDEF" or raw_name.startswith("__.SYMDEF"):
            pass  # BSD index: we rebuild the index from the members instead
        else:
            name, body = _member_name(raw_name, body, long_names, path, pos)
            if thin:
                body = _thin_member(path, name, pos)
            offset_to_member[pos] = len(members)
            members.append(ArchiveMember(name, pos, body))
        pos = start + stored + (stored & 1)
    index = _read_index(index_blob, offset_to_member, path) if index_blob else None
    if index is None:
        index = _scan_index(path, members, defined_names or elf_defined_names)
    return Archive(path, members, index)


def _member_name(raw: str, body: memoryview, long_names: bytes, path: str,
                 pos: int) -> tuple[str, memoryview]:
    if raw.startswith("#1/"):  # BSD: the name is the first LEN bytes of the data
        try:
            n = int(raw[3:])
        except ValueError:
            raise LinkError(f"bad BSD member name {raw!r}", file=path, offset=pos) from None
        if n > len(body):
            raise LinkError("BSD member name longer than the member", file=path, offset=pos)
        return bytes(body[:n]).rstrip(b"\0").decode("utf-8", "replace"), body[n:]
    if raw.startswith("/") and raw[1:].isdigit():
        off = int(raw[1:])
        end = long_names.find(b"/\n", off)
        if off >= len(long_names) or end < 0:
            raise LinkError(f"member long name {raw!r} outside the // table", file=path,
                            offset=pos)
        return long_names[off:end].decode("utf-8", "replace"), body
    return raw.removesuffix("/"), body


def _thin_member(path: str, name: str, pos: int) -> memoryview:
    member_file = name if os.path.isabs(name) else os.path.join(os.path.dirname(path), name)
    try:
        read = read_input_status(member_file, only_regular=True)
    except OSError as e:
        raise LinkError(f"thin archive member {name}: {e.strerror}", file=path,
                        offset=pos) from None
    if read is None:  # a device or FIFO: a member is a file, and /dev/zero has no end
        raise LinkError(f"thin archive member {name}: not a regular file", file=path,
                        offset=pos)
    return memoryview(read[0])


def _read_index(blob: tuple[memoryview, int], offset_to_member: dict[int, int],
                path: str) -> dict[str, list[int]] | None:
    body, word = blob
    dtype = ">u8" if word == 8 else ">u4"
    if len(body) < word:
        raise LinkError("truncated archive symbol index", file=path, offset=8)
    count = int(np.frombuffer(body, dtype, 1)[0])
    if (count + 1) * word > len(body):
        raise LinkError(f"archive symbol index claims {count} symbols but is only "
                        f"{len(body)} bytes", file=path, offset=8)
    offsets = np.frombuffer(body, dtype, count, word).tolist()
    names = bytes(body[(count + 1) * word:]).split(b"\0")
    if len(names) < count:
        raise LinkError("archive symbol index has fewer names than offsets", file=path,
                        offset=8)
    index: dict[str, list[int]] = {}
    for raw, off in zip(names, offsets):
        n = offset_to_member.get(off)
        if n is None:
            raise LinkError(f"archive symbol index points at {off:#x}, which is not a member",
                            file=path, offset=8)
        index.setdefault(raw.decode("utf-8", "surrogateescape"), []).append(n)
    return index


def elf_defined_names(data: memoryview, path: str) -> list[str]:
    if bytes(data[:4]) != b"\x7fELF":
        return []
    t = read_object(data, path).symbols
    defined = (t.binding != BIND_LOCAL) & (t.section != UNDEF)
    return [t.names[i] for i in np.nonzero(defined)[0].tolist()]


def _scan_index(path: str, members: list[ArchiveMember],
                defined_names: Callable[[memoryview, str], list[str]]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for n, member in enumerate(members):
        for name in defined_names(member.data, f"{path}({member.name})"):
            index.setdefault(name, []).append(n)
    return index
