"""SHF_COMPRESSED sections (gABI): an Elf_Chdr, then the section's bytes compressed.

`gcc -gz` writes its DWARF so (zlib); `--compress-debug-sections=zlib|zstd` asks the
linker to write them so.  zstd needs the `zstandard` module; without it a zstd input is
refused with one line, and zstd output is refused at the command line.
"""

from __future__ import annotations

import struct
import zlib

from ..errors import LinkError
from ..targets import ElfLayout
from .headers import ElfHeaders

SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD = 1, 2
_CHDR64, _CHDR32 = "<IIQQ", "<III"
METHODS = {"zlib": ELFCOMPRESS_ZLIB, "zlib-gabi": ELFCOMPRESS_ZLIB, "zstd": ELFCOMPRESS_ZSTD}
# ch_size is a size from the file used to allocate: a 2 MB zlib stream inflates to 2 GiB
# (zlib reaches about 1000:1), which took 18 s and 4 GB before running out of memory.  No
# object's debug section comes near this.
MAX_UNCOMPRESSED = 256 << 20


def have_zstd() -> bool:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


def decompress_section(hdr: ElfHeaders, index: int, data: bytes | memoryview
                       ) -> tuple[bytes, int, int]:
    """(bytes, size, alignment) of a compressed input section."""
    fmt = _CHDR64 if hdr.is64 else _CHDR32
    if len(data) < struct.calcsize(fmt):
        raise hdr.error("SHF_COMPRESSED section shorter than its Elf_Chdr", index, offset=0)
    if hdr.is64:
        ch_type, _reserved, size, align = struct.unpack_from(fmt, data)
    else:
        ch_type, size, align = struct.unpack_from(fmt, data)
    if size > MAX_UNCOMPRESSED:
        raise hdr.error(f"SHF_COMPRESSED section of {size:#x} bytes uncompressed (at most "
                        f"{MAX_UNCOMPRESSED:#x}; a decompression bomb?)", index, offset=0)
    body = bytes(data[struct.calcsize(fmt):])
    try:
        if ch_type == ELFCOMPRESS_ZLIB:
            out = zlib.decompressobj().decompress(body, size + 1)
        elif ch_type == ELFCOMPRESS_ZSTD and have_zstd():
            import zstandard
            out = zstandard.ZstdDecompressor().decompress(body, max_output_size=size + 1)
        else:
            raise hdr.error(f"SHF_COMPRESSED with ch_type {ch_type} (this linker reads "
                            f"zlib{' and zstd' if have_zstd() else ''})", index, offset=0)
    except LinkError:
        raise
    except Exception as e:  # noqa: BLE001  zlib.error, zstandard.ZstdError: a corrupt stream
        raise hdr.error(f"compressed contents do not decompress ({e})", index,
                        offset=struct.calcsize(fmt)) from None
    if len(out) != size:
        raise hdr.error(f"compressed contents give {len(out)} bytes, Elf_Chdr says {size}",
                        index, offset=0)
    return out, size, max(1, align)


def compress_section(data: bytes, align: int, layout: ElfLayout, method: str) -> bytes:
    """Elf_Chdr + the compressed bytes of an output section."""
    ch_type = METHODS[method]
    if ch_type == ELFCOMPRESS_ZSTD:
        import zstandard
        body = zstandard.ZstdCompressor().compress(data)
    else:
        body = zlib.compress(data)
    head = layout.pack_compression_header(type=ch_type, reserved=0, size=len(data),
                                          addralign=align)
    return head + body
