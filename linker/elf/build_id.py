"""`--build-id`: the `.note.gnu.build-id` note (NT_GNU_BUILD_ID) that names one build.

The note is planned like any synthetic read-only section, with its descriptor zero; once
the whole file is serialised the descriptor is filled.  For `sha1` and `md5` it is the hash
of the output file as written with the descriptor still zero (gold's definition: a reader
can recompute it from the file alone); `uuid` is 16 random bytes; `0xHEX` is those bytes.
"""

from __future__ import annotations

import os
import struct

from ..errors import LinkError
from ..layout import OutputSection
from ..model import SectionFlags

NOTE_NAME = ".note.gnu.build-id"
NT_GNU_BUILD_ID = 3
SHT_NOTE = 7
_OWNER = b"GNU\0"
_HEADER_SIZE = 12 + len(_OWNER)  # namesz, descsz, type, "GNU\0"
_HASH_SIZES = {"sha1": 20, "md5": 16}


def normalise_style(value: str | None) -> str | None:
    """GNU ld's spelling of --build-id[=STYLE] -> the style, or None for no note.
    Bare --build-id is sha1 (GNU ld's and lld's default)."""
    style = "sha1" if value is None or value == "" else value.lower()
    if style == "none":
        return None
    if style in _HASH_SIZES or style == "uuid":
        return style
    if style.startswith("0x"):
        digits = style[2:]
        if digits and len(digits) % 2 == 0 and all(c in "0123456789abcdef" for c in digits):
            return style
        raise LinkError(f"--build-id={value}: 0x must be followed by an even number of "
                        "hex digits")
    raise LinkError(f"--build-id={value}: unknown style (sha1, md5, uuid, 0xHEX or none)")


def descriptor_size(style: str) -> int:
    if style in _HASH_SIZES:
        return _HASH_SIZES[style]
    if style == "uuid":
        return 16
    return (len(style) - 2) // 2


def note_section(style: str) -> OutputSection:
    """The output section, its descriptor zero until `fill_build_id`."""
    size = descriptor_size(style)
    out = OutputSection(NOTE_NAME, SectionFlags.ALLOC, align=4,
                        size=_HEADER_SIZE + ((size + 3) & -4))
    out.meta.update(type=SHT_NOTE, entsize=0)
    header = struct.pack("<III", len(_OWNER), size, NT_GNU_BUILD_ID) + _OWNER
    out.render = lambda: header + bytes(out.size - len(header))
    return out


def fill_build_id(image: bytearray, note: OutputSection, style: str) -> None:
    """Write the descriptor of the note at `note.file_offset` into the finished `image`."""
    size = descriptor_size(style)
    start = note.file_offset + _HEADER_SIZE
    if style in _HASH_SIZES:
        digest = _digest(style, image)  # the descriptor is still zero here
    elif style == "uuid":
        raw = bytearray(os.urandom(16))
        raw[6] = (raw[6] & 0x0F) | 0x40  # RFC 4122 version 4, variant 1, as lld writes it
        raw[8] = (raw[8] & 0x3F) | 0x80
        digest = bytes(raw)
    else:
        digest = bytes.fromhex(style[2:])
    image[start:start + size] = digest



# Below this size the interpreter's own SHA-1 is quick enough, and it saves a small link
# the millisecond or two that loading OpenSSL (hashlib) costs; above it, OpenSSL is faster.
_BUILTIN_SHA1_LIMIT = 1 << 20


def _digest(style: str, image: bytearray) -> bytes:
    if style == "sha1" and len(image) <= _BUILTIN_SHA1_LIMIT:
        try:
            from _sha1 import sha1  # CPython's built-in module
        except ImportError:
            pass
        else:
            return sha1(image).digest()
    import hashlib
    return hashlib.new(style, image).digest()
