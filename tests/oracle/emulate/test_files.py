"""stdio on files over the run's in-memory file system: the family behaves as natively,
the file system starts from the directory named (or empty), and nothing a guest does with
files reaches the host's."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle.emulate.run import run

Builder = Callable[..., Path]

SEED = b"seeded first line\nsecond\n"


def scratch(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "seed.txt").write_bytes(SEED)
    return directory


@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_the_stdio_file_family_matches_a_native_run(build: Builder, tmp_path: Path,
                                                    arch: str) -> None:
    path = build("files.c", arch)
    native = subprocess.run([str(path)], cwd=scratch(tmp_path, "native"), capture_output=True,
                            timeout=30, check=False)
    assert native.returncode == 0, native.stderr
    result = run(path, [str(path)], files_from=scratch(tmp_path, "seed"))
    assert result.faults == []
    assert (result.exit_code, result.stdout) == (0, native.stdout)
    assert b"seed: seeded first line" in result.stdout


def test_without_a_seed_the_file_system_starts_empty(build: Builder) -> None:
    result = run(build("files.c"))
    assert result.exit_code == 0 and result.faults == []
    assert b"no seed\n" in result.stdout and b"read: line one\n" in result.stdout


def test_a_guest_cannot_touch_host_files(build: Builder, tmp_path: Path) -> None:
    seed = scratch(tmp_path, "seed")
    before = {p: p.read_bytes() for p in seed.rglob("*")}
    host_target = tmp_path / "written-by-guest.txt"  # an absolute host path for the guest
    path = build("files.c")
    result = run(path, [str(path), str(host_target)], files_from=seed)
    assert result.exit_code == 0 and result.faults == []
    assert b"read: line one\n" in result.stdout  # the guest did write and read it back
    assert not host_target.exists()
    assert {p: p.read_bytes() for p in seed.rglob("*")} == before  # renames/removes: none
    # a second run starts from the seed again, not from what the first left
    again = run(path, [str(path), str(host_target)], files_from=seed)
    assert again.stdout == result.stdout


def test_a_missing_seed_directory_is_a_load_fault(build: Builder, tmp_path: Path) -> None:
    result = run(build("hello.c"), files_from=tmp_path / "absent")
    assert result.exit_code is None and [f.kind for f in result.faults] == ["load"]
    assert "files_from" in result.faults[0].message


DARWIN_FILES_C = r"""
typedef struct FILE FILE;
FILE *fopen(const char *, const char *);
int fclose(FILE *);
unsigned long fwrite(const void *, unsigned long, unsigned long, FILE *);
char *fgets(char *, int, FILE *);
int feof(FILE *);
int printf(const char *, ...);
int main(void) {
    char buf[32];
    FILE *f = fopen("/out.txt", "w");
    fwrite("darwin line\n", 1, 12, f);
    fclose(f);
    f = fopen("out.txt", "r");  /* relative: from / */
    printf("read: %s", fgets(buf, sizeof buf, f));
    printf("at end %d\n", fgets(buf, sizeof buf, f) == 0 && feof(f));
    fclose(f);
    f = fopen("seed.txt", "r");
    printf("seed: %s", f ? fgets(buf, sizeof buf, f) : "none\n");
    return 0;
}
"""


def test_mach_o_programs_get_the_same_files(tmp_path: Path) -> None:
    source, obj, exe = tmp_path / "files.c", tmp_path / "files.o", tmp_path / "files"
    source.write_text(DARWIN_FILES_C)
    tbd = Path(__file__).parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"
    subprocess.run(["clang-14", "--target=x86_64-apple-macosx10.9", "-O1", "-w", "-c",
                    str(source), "-o", str(obj)], check=True, capture_output=True)
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                    "11.0", "-o", str(exe), str(obj), str(tbd)], check=True,
                   capture_output=True)
    result = run(exe, files_from=scratch(tmp_path, "seed"))
    assert result.faults == [] and result.exit_code == 0
    assert result.stdout == b"read: darwin line\nat end 1\nseed: seeded first line\n"



@pytest.mark.parametrize("arch", ["x86-64", "i386"])
def test_bytes_a_file_lets_go_leave_the_memory_cap(build: Builder, arch: str) -> None:
    """Truncated, replaced and removed files' bytes are given back to the memory cap: a
    program that rewrites a file in a loop (512 MiB written, 3 MiB held) runs as it does
    natively, while one that keeps 300 MiB of files is still stopped at the cap."""
    path = build("rewrites.c", arch)
    result = run(path, [str(path)])
    assert result.faults == [] and result.exit_code == 0
    assert result.stdout == b"replaced: 1048576 bytes\n"
    held = run(path, [str(path), "hold"])
    assert [f.kind for f in held.faults] == ["library"]
    assert "past the run's memory cap" in held.faults[0].message


def test_strings_of_megabytes_read_as_natively(build: Builder, tmp_path: Path) -> None:
    path = build("bigstring.c")
    native = subprocess.run([str(path)], cwd=tmp_path, capture_output=True, timeout=30,
                            check=True)
    result = run(path, [str(path)])
    assert result.faults == []
    assert (result.exit_code, result.stdout) == (0, native.stdout)
    assert b"strlen 25165824\n" in result.stdout
