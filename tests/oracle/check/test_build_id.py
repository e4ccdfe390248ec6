"""ELF-BUILD-ID: silent on every reference linker's --build-id output (sha1, md5 and uuid, both
classes) and on linkharness's, and fires on a wrong descriptor or a stale hash."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.check import check

LINKERS = ("bfd", "gold", "lld", "mold", "linkharness")
HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory,
            ld_flags: Callable[[str], list[str]]) -> dict[tuple[str, str, int], Path]:
    tmp = tmp_path_factory.mktemp("build-id")
    src = tmp / "hello.c"
    src.write_text(HELLO)
    built = {}
    for bits in (64, 32):
        obj = tmp / f"hello{bits}.o"
        subprocess.run(["gcc", f"-m{bits}", "-c", "-o", str(obj), str(src)], check=True)
        for linker in LINKERS:
            for style in ("sha1", "md5", "uuid") if bits == 64 else ("sha1",):
                out = tmp / f"{linker}-{style}-{bits}"
                subprocess.run(["gcc", f"-m{bits}", "-no-pie", *ld_flags(linker),
                                f"-Wl,--build-id={style}", str(obj), "-o", str(out)],
                               check=True, capture_output=True)
                built[(linker, style, bits)] = out
    return built


def _findings(data: bytes) -> list[str]:
    return [f"{v.where}: {v.what}" for v in check(data) if v.rule.startswith("ELF-BUILD-ID")]


def _descriptor_offset(data: bytes) -> tuple[int, int]:
    """(file offset, size) of the build-id descriptor: the note header (type 3, "GNU")."""
    at = data.index(struct.pack("<I", 3) + b"GNU\0") - 8
    size = struct.unpack_from("<I", data, at + 4)[0]
    return at + 16, size


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize(("style", "bits"), [("sha1", 64), ("md5", 64), ("sha1", 32),
                                            ("uuid", 64)])
def test_silent_on_every_linker(outputs: dict[tuple[str, str, int], Path], linker: str,
                                style: str, bits: int) -> None:
    """uuid: GNU ld and gold draw 16 random bytes, without RFC 4122's version bits (the
    rule once took them for wrong md5s)."""
    data = outputs[(linker, style, bits)].read_bytes()
    assert _findings(data) == []
    assert b"GNU\0" in data and len(_descriptor_bytes(data)) == (20 if style == "sha1" else 16)


def _descriptor_bytes(data: bytes) -> bytes:
    at, size = _descriptor_offset(data)
    return data[at:at + size]


@pytest.mark.parametrize("linker", LINKERS)
def test_a_wrong_descriptor_is_reported(outputs: dict[tuple[str, str, int], Path],
                                       linker: str) -> None:
    data = bytearray(outputs[(linker, "sha1", 64)].read_bytes())
    at, _ = _descriptor_offset(bytes(data))
    data[at] ^= 1
    assert any("is no sha1 of the output" in f for f in _findings(bytes(data)))


@pytest.mark.parametrize("linker", LINKERS)
def test_a_stale_hash_is_reported(outputs: dict[tuple[str, str, int], Path],
                                  linker: str) -> None:
    """The code changed after hashing (e.g. relocations applied after the build id)."""
    data = bytearray(outputs[(linker, "sha1", 64)].read_bytes())
    text = data.index(b"hi\0")  # .rodata's string
    data[text] = ord("H")
    assert any("is no sha1 of the output" in f for f in _findings(bytes(data)))


def test_a_malformed_note_is_reported(outputs: dict[tuple[str, str, int], Path]) -> None:
    data = bytearray(outputs[("linkharness", "sha1", 64)].read_bytes())
    at, _ = _descriptor_offset(bytes(data))
    struct.pack_into("<I", data, at - 8, 4)  # note type: no longer NT_GNU_BUILD_ID
    assert any("NT_GNU_BUILD_ID" in f for f in _findings(bytes(data)))


def test_a_file_changed_after_its_link_is_only_checked_for_form() -> None:
    """Distribution binaries: stripped and given a .gnu_debuglink after the link, their
    build id is the linker's but their bytes are not what it hashed."""
    for path in ("/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/sbin/ldconfig"):
        assert _findings(Path(path).read_bytes()) == []
