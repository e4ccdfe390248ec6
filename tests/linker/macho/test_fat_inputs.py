"""Universal (fat) inputs: the link takes the slice `-arch` names from a fat object or a
fat archive (built by llvm-lipo-14, and as FAT_MAGIC_64 by the test's own writer), and
says which slices exist when the one it needs is absent."""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import LinkError, link
from oracle import run

MAIN = r"""
int printf(const char *, ...);
int answer(void);
int main(void) { printf("answer %d\n", answer()); return answer() - 40; }
"""
LIB = "int answer(void) { return 42; }\n"
TARGETS = {"x86_64": "macho-x86_64", "i386": "macho-i386"}
LIPO = shutil.which("llvm-lipo-14")


def lipo(output: Path, *slices: tuple[str, Path]) -> Path:
    assert LIPO, "llvm-lipo-14 is one of the reference tools (llvm-14)"
    args = [a for arch, path in slices for a in ("-arch", arch, str(path))]
    subprocess.run([LIPO, "-create", *args, "-output", str(output)], check=True)
    return output


def as_fat64(fat: bytes) -> bytes:
    """The same slices under FAT_MAGIC_64 (llvm-lipo-14 has no -fat64): 32-byte records."""
    (count,) = struct.unpack_from(">I", fat, 4)
    records = [struct.unpack_from(">5I", fat, 8 + 20 * i) for i in range(count)]
    header = struct.pack(">II", 0xCAFEBABF, count) + b"".join(
        struct.pack(">iiQQII", cpu, sub, off, size, align, 0)
        for cpu, sub, off, size, align in records)
    assert len(header) <= records[0][2], "the slices start after the wider header"
    return header + fat[len(header):]


@pytest.fixture(scope="module")
def fat_inputs(macho_cc: Callable[..., Path], macho32_cc: Callable[..., Path],
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fat")
    objs = {"x86_64": (macho_cc(MAIN, "fat-main"), macho_cc(LIB, "fat-lib")),
            "i386": (macho32_cc(MAIN, "fat-main32"), macho32_cc(LIB, "fat-lib32"))}
    archives = {}
    for arch, (_, lib) in objs.items():
        archives[arch] = root / f"lib-{arch}.a"
        subprocess.run(["llvm-ar-14", "rc", str(archives[arch]), str(lib)], check=True)
    main = lipo(root / "main.o", *((a, o[0]) for a, o in objs.items()))
    (root / "main64.o").write_bytes(as_fat64(main.read_bytes()))
    return {"main": main, "main64": root / "main64.o",
            "lib": lipo(root / "libanswer.a", *archives.items()),
            "x86_64-only": lipo(root / "only64.o", ("x86_64", objs["x86_64"][0]))}


@pytest.mark.parametrize("arch", ["x86_64", "i386"])
@pytest.mark.parametrize("main", ["main", "main64"])
def test_link_takes_the_arch_slice_of_fat_objects_and_archives(
        fat_inputs: dict[str, Path], tmp_path: Path, arch: str, main: str) -> None:
    out = tmp_path / "prog"
    link([fat_inputs[main], fat_inputs["lib"], "-lSystem"], out, target=TARGETS[arch])
    magic = struct.unpack_from("<I", out.read_bytes())[0]
    assert magic == (0xFEEDFACF if arch == "x86_64" else 0xFEEDFACE)
    result = run(str(out), bind="now")
    assert (result.stdout, result.exit_code, result.faults) == (b"answer 42\n", 2, [])


def test_an_absent_slice_is_one_line_naming_the_slices_present(
        fat_inputs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(LinkError) as err:
        link([fat_inputs["x86_64-only"], "-lSystem"], tmp_path / "prog", target="macho-i386")
    message = str(err.value)
    assert "\n" not in message and "only64.o" in message
    assert "no i386 slice" in message and "slices: x86_64" in message
    assert not (tmp_path / "prog").exists()


def test_a_slice_past_the_end_of_the_file_is_refused(fat_inputs: dict[str, Path],
                                                    tmp_path: Path) -> None:
    cut = tmp_path / "cut.o"
    data = fat_inputs["main"].read_bytes()
    cut.write_bytes(data[:len(data) - 64])  # the last slice now runs past the end
    last = "i386" if struct.unpack_from(">I", data, 8 + 20 * 1 + 8)[0] > struct.unpack_from(
        ">I", data, 8 + 8)[0] else "x86_64"
    with pytest.raises(LinkError, match=f"the {last} slice .* runs past the end"):
        link([cut, "-lSystem"], tmp_path / "prog", target=TARGETS[last])


def test_cli_names_the_slices(fat_inputs: dict[str, Path], tmp_path: Path) -> None:
    exe = shutil.which("linkharness") or str(Path(__file__).parents[3] / ".venv/bin/linkharness")
    done = subprocess.run([exe, "link", "-arch", "i386", str(fat_inputs["x86_64-only"]),
                           "-lSystem", "-o", str(tmp_path / "p")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "slices: x86_64" in done.stderr
