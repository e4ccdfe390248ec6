"""Workload B, "an archive": a small C program against zlib's static archive and libc.so.

The link is gcc's own `-no-pie` link line spelled out (crt files, -lgcc, -lgcc_s as needed,
-lc), minus the LTO plugin and the build-id, so every linker gets identical arguments and
pulls from libz.a only the members the program needs. The program round-trips text through
compress/uncompress and a raw and a gzip deflate/inflate stream, and checks crc32 and
adler32 against values computed here with Python's zlib: exit 42 means all agreed.
"""

from __future__ import annotations

import subprocess
import zlib
from functools import cache
from pathlib import Path

from bench.object_cache import Source, cached_inputs
from bench.workload import Workload

LIBZ = "/usr/lib/x86_64-linux-gnu/libz.a"
EXIT_OK = 42
CRT_FILES = ("crt1.o", "crti.o", "crtbegin.o", "crtend.o", "crtn.o")
TEXT = b"linkharness links; " * 40 + b"the quick brown fox jumps over the lazy dog"

PROGRAM = r"""
#include <string.h>
#include <zlib.h>

static const char text[] = "%(text)s";

static int stream(int window_bits) {
    unsigned char packed[4096], unpacked[sizeof text];
    z_stream d, i;
    memset(&d, 0, sizeof d);
    memset(&i, 0, sizeof i);
    if (deflateInit2(&d, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    d.next_in = (unsigned char *)text; d.avail_in = sizeof text;
    d.next_out = packed; d.avail_out = sizeof packed;
    if (deflate(&d, Z_FINISH) != Z_STREAM_END) return 0;
    deflateEnd(&d);
    if (inflateInit2(&i, window_bits) != Z_OK) return 0;
    i.next_in = packed; i.avail_in = (unsigned)d.total_out;
    i.next_out = unpacked; i.avail_out = sizeof unpacked;
    if (inflate(&i, Z_FINISH) != Z_STREAM_END) return 0;
    inflateEnd(&i);
    return i.total_out == sizeof text && memcmp(unpacked, text, sizeof text) == 0;
}

int main(void) {
    unsigned char packed[4096], unpacked[sizeof text];
    uLongf packed_len = sizeof packed, unpacked_len = sizeof unpacked;
    if (compressBound(sizeof text) > sizeof packed) return 2;
    if (compress2(packed, &packed_len, (const Bytef *)text, sizeof text, 6) != Z_OK) return 3;
    if (uncompress(unpacked, &unpacked_len, packed, packed_len) != Z_OK) return 4;
    if (unpacked_len != sizeof text || memcmp(unpacked, text, sizeof text)) return 5;
    if (!stream(-15) || !stream(15 + 16)) return 6;
    if (crc32(0, (const Bytef *)text, sizeof text - 1) != %(crc)dUL) return 7;
    if (adler32(1, (const Bytef *)text, sizeof text - 1) != %(adler)dUL) return 8;
    if (strcmp(zlibVersion(), ZLIB_VERSION) != 0) return 9;
    return %(ok)d;
}
"""


def source() -> str:
    """The C program, with the checksums Python's zlib computes for the same text."""
    return PROGRAM % {"text": TEXT.decode(), "crc": zlib.crc32(TEXT),
                      "adler": zlib.adler32(TEXT), "ok": EXIT_OK}


@cache
def gcc_file(name: str) -> str:
    """Where gcc finds one of its files (crt1.o, crtbegin.o, ...), as `gcc -print-file-name`."""
    done = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def link_args() -> tuple[str, ...]:
    """gcc -no-pie's collect2 arguments for main.o + libz.a, without plugin and build-id."""
    gcc_dir = str(Path(gcc_file("crtbegin.o")).parent)
    return (
        "--eh-frame-hdr", "-m", "elf_x86_64", "--hash-style=gnu", "--as-needed",
        "-dynamic-linker", "/lib64/ld-linux-x86-64.so.2",
        gcc_file("crt1.o"), gcc_file("crti.o"), gcc_file("crtbegin.o"),
        f"-L{gcc_dir}", "-L/usr/lib/x86_64-linux-gnu", "-L/lib/x86_64-linux-gnu",
        "main.o", LIBZ,
        "-lgcc", "--push-state", "--as-needed", "-lgcc_s", "--pop-state", "-lc",
        "-lgcc", "--push-state", "--as-needed", "-lgcc_s", "--pop-state",
        gcc_file("crtend.o"), gcc_file("crtn.o"),
    )


def zlib_workload(root: Path) -> Workload:
    """Workload B with main.o compiled (or cached)."""
    text = source()
    cached = cached_inputs(root, "zlib", {"workload": "zlib", "libz": LIBZ},
                           [Path(__file__)], lambda: ([Source("main.c", text)], {}))
    named = [cached.directory / "main.o"] + [Path(gcc_file(crt)) for crt in CRT_FILES]
    return Workload(
        name="zlib-archive",
        description="main.o + libz.a members on demand + crt files, libc.so.6",
        directory=cached.directory,
        args=link_args(),
        expected_status=EXIT_OK,
        objects=len(named),
        relocs=sum(_count_relocs(obj) for obj in named),
    )


def _count_relocs(obj: Path) -> int:
    done = subprocess.run(["readelf", "-rW", str(obj)], capture_output=True, text=True,
                          check=True)
    return sum(1 for line in done.stdout.splitlines() if " R_X86_64_" in line)
