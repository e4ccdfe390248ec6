"""Thread-local variables on Mach-O i386: clang-14 -target i386-apple-macosx10.7 compiles
`_Thread_local` to 12-byte __thread_vars descriptors and GENERIC_RELOC_TLV loads
(`movl _v@TLVP-L$pb(%ebx), %eax; calll *(%eax)`: tlv_get_addr takes the descriptor in %eax
and returns the variable's address there).  linkharness links them (macOS 10.7 with
LC_UNIXTHREAD and its own start, and 10.9 with LC_MAIN); under the emulated dyld the program
prints and exits as its native elf32-i386 build; the checker and the field oracle accept
the output and see a broken descriptor.  ld64.lld-14 has no i386 target ("missing or
unsupported -arch i386"), so there is no reference link."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import LinkError, link
from oracle import run
from oracle.check import check
from oracle.emulate.macho import image as mi
from oracle.relocs.check import check_fields_report
from tests.linker.macho.tlv_counter_program import counter_program

PROGRAM = counter_program("long long")
VERSIONS = {"10.7": (0x000A0700, 0x000A0700), "10.9": (0x000A0900, 0x000B0000)}


@pytest.fixture(scope="module")
def native(run_natively: Callable[..., tuple[bytes, int]]) -> tuple[bytes, int]:
    return run_natively(PROGRAM, "tlv32", "-m32")


@pytest.fixture(scope="module")
def obj(macho32_tlv_cc: Callable[..., Path]) -> Path:
    return macho32_tlv_cc(PROGRAM, "tlv32", "-O1")


@pytest.fixture(scope="module")
def outputs(obj: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tlv32")
    out = {}
    for name, version in VERSIONS.items():
        out[name] = root / name
        link([obj, "-lSystem"], out[name], target="macho-i386", platform_version=version)
    return out


def test_the_object_is_what_clang_writes_for_i386(obj: Path) -> None:
    dump = subprocess.run(["llvm-objdump-14", "--macho", "-r", str(obj)], check=True,
                          capture_output=True, text=True).stdout
    assert "TLV" in dump and "__tlv_bootstrap" in dump


@pytest.mark.parametrize("version", VERSIONS)
def test_runs_as_natively(outputs: dict[str, Path], native: tuple[bytes, int],
                          version: str) -> None:
    assert native[0] == b"7 10 37 1 tls\n108 Tls ok\n"
    for bind in ("lazy", "now"):
        result = run(str(outputs[version]), bind=bind)
        assert (result.stdout, result.exit_code, result.faults) == (*native, [])


@pytest.mark.parametrize("version", VERSIONS)
def test_checker_and_field_oracle_accept_it(outputs: dict[str, Path], obj: Path,
                                            version: str) -> None:
    img = mi.parse(outputs[version].read_bytes())
    assert img.flags & 0x800000  # MH_HAS_TLV_DESCRIPTORS
    assert [s.size for s in img.sections() if s.type == 0x13] == [4 * 12]
    assert check(outputs[version]) == []
    report = check_fields_report(str(outputs[version]), [str(obj)])
    assert not report.mismatches
    assert sum(c.type_name == "GENERIC_RELOC_TLV" for c in report.confirmed) >= 4


def _descriptors(data: bytes) -> tuple[int, int]:
    """File offset and size of __thread_vars."""
    img = mi.parse(data)
    (sect,) = [s for s in img.sections() if s.type == 0x13]
    return sect.offset, sect.size


def test_a_broken_descriptor_is_seen(outputs: dict[str, Path], obj: Path,
                                     tmp_path: Path) -> None:
    """The first descriptor's offset made the second's: the checker still accepts it (in
    range), the field oracle reports it, and the program prints something else."""
    data = bytearray(outputs["10.9"].read_bytes())
    at, _ = _descriptors(bytes(data))
    struct.pack_into("<I", data, at + 8, struct.unpack_from("<I", data, at + 12 + 8)[0])
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    report = check_fields_report(str(bad), [str(obj)])
    assert any("__thread_vars" in m.section for m in report.mismatches)
    assert run(str(bad)).stdout != b"7 10 37 1 tls\n108 Tls ok\n"


def test_the_flag_and_offsets_are_checked(outputs: dict[str, Path]) -> None:
    original = outputs["10.9"].read_bytes()
    unflagged = bytearray(original)
    struct.pack_into("<I", unflagged, 24, struct.unpack_from("<I", unflagged, 24)[0] & ~0x800000)
    assert "MACHO-TLV" in {v.rule for v in check(_write(unflagged, outputs["10.9"], "noflag"))}
    # without the flag dyld leaves the thunks on __tlv_bootstrap: the first access faults
    result = run(str(_write(unflagged, outputs["10.9"], "noflag")))
    assert result.faults and "__tlv_bootstrap" in result.faults[0].describe()
    far = bytearray(original)
    at, _ = _descriptors(original)
    struct.pack_into("<I", far, at + 8, 0x1000)
    assert "MACHO-TLV" in {v.rule for v in check(_write(far, outputs["10.9"], "far"))}


def _write(data: bytearray, like: Path, name: str) -> Path:
    path = like.parent / f"{like.name}-{name}"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("options", "why"), [
    ({"macho_classic": True}, "not written in --macho-classic"),
    ({"platform_version": (0x000A0600, 0x000A0600)}, "need macOS 10.7 or later"),
])
def test_targets_without_tlv_support_are_refused(obj: Path, tmp_path: Path,
                                                 options: dict[str, object], why: str) -> None:
    """dyld sets descriptors up from 10.7 (ld64 refuses older deployment targets too); the
    classic format predates them.  One line naming the object and __thread_vars, no file."""
    out = tmp_path / "old"
    with pytest.raises(LinkError) as err:
        link([obj, "-lSystem"], out, target="macho-i386", **options)  # type: ignore[arg-type]
    message = str(err.value)
    assert why in message and "tlv32.o" in message and "__thread_vars" in message
    assert "\n" not in message and not out.exists()
