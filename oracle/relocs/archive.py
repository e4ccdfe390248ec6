"""Static archives among the inputs: their ELF members, as `lib.a(member.o)` objects.

A linker copies only the members that resolve a reference, so the checker treats a
member as linked when one of its sections is found in the output through its own
symbols (confirmed by the bytes); the others are skipped and counted.  Regular and thin
(GNU `ar T`) archives, GNU long names; the symbol index is not needed.
"""

from __future__ import annotations

import functools
import io
import os

from oracle.regular_file import read_head, read_regular

from .inputs import InputObject, parse_object

_MAGIC, _THIN = b"!<arch>\n", b"!<thin>\n"


def is_archive(path: str) -> bool:
    return read_head(path, 8) in (_MAGIC, _THIN)


def read_archive(path: str) -> tuple[InputObject, ...]:
    """The ET_REL members of the archive at `path` (parsed once per version of the file)."""
    st = os.stat(path)
    return _read_archive(os.path.abspath(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _read_archive(path: str, _mtime: int, _size: int) -> tuple[InputObject, ...]:
    data = read_regular(path)
    thin = data[:8] == _THIN
    long_names = b""
    members = []
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("latin-1").rstrip()
        size = int(header[48:58].decode("latin-1").strip() or 0)
        body_at = pos + 60
        if name == "//":
            long_names = data[body_at:body_at + size]
        elif name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            end = long_names.find(b"/\n", start)
            members.append((long_names[start:end if end >= 0 else None].decode("latin-1"),
                            body_at, size))
        elif name not in ("/", "/SYM64/"):
            members.append((name.rstrip("/"), body_at, size))
        # thin archives keep member bodies out of the archive (except the name tables)
        stored = size if not thin or name in ("/", "//", "/SYM64/") else 0
        pos = body_at + stored + (stored & 1)
    objects = []
    for name, at, size in members:
        if thin:
            body = read_regular(os.path.join(os.path.dirname(path), name))
        else:
            body = data[at:at + size]
        if body[:4] == b"\x7fELF" and body[16:18] in (b"\x01\x00", b"\x00\x01"):
            objects.append(parse_object(io.BytesIO(body), f"{path}({os.path.basename(name)})"))
    return tuple(objects)
