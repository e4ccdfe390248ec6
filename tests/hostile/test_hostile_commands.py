"""Hostile command lines and scripts (issue 13, the `semantic` campaign's hand-made half):
option values past what an output can hold, linker scripts that name themselves or nest
thousands deep, a thin archive naming a device, a link with no object at all.  Each once
gave an internal error (a traceback's last line) or a RecursionError; each must now be
one `linkharness: error:` line naming what is wrong, exit status 1, no output file (or,
where GNU ld links, a link).  Run in-process through `linker.cli.main`: fast."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linker.cli import main

HELLO = "int main(void) { return 7; }\n"


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("hostile-commands")
    (work / "m.c").write_text(HELLO)
    made = {"elf": work / "m.o", "macho64": work / "m64.o", "macho32": work / "m32.o"}
    subprocess.run(["gcc", "-c", "-o", str(made["elf"]), str(work / "m.c")], check=True)
    for name, triple in (("macho64", "x86_64-apple-macosx10.9"),
                         ("macho32", "i386-apple-macosx10.7")):
        subprocess.run(["clang-14", "-target", triple, "-c", "-o", str(made[name]),
                        str(work / "m.c")], check=True)
    return made


def _refused(argv: list[str], out: Path, capsys: pytest.CaptureFixture[str],
             wanted: str) -> None:
    status = main([*argv, "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkharness: error: "), err
    assert wanted in lines[0], err
    assert not out.exists()
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name)) == []


@pytest.mark.parametrize("argv, wanted", [
    (["-z", "stack-size=99999999999999999999999"], "the stack size must be below"),
    (["-z", "stack-size=0x100000000"], "the stack size must be below"),
    # found by a campaign over option values (OverflowError out of the relocation pass)
    (["-Tdata", "18446744073709551616"], "-Tdata 18446744073709551616: the address is past"),
    (["--section-start=.data=10000000000000000"], "the address is past 64 bits"),
    (["-Tdata", "ffffffffffffffff"], "section .data VMA wraps around address space"),
    (["-Tbss", "8000000000000000"], "section .bss VMA wraps around address space"),
    (["-Ttext-segment", "0xfffffffffffff000"], "VMA wraps around address space"),
])
def test_elf_option_values_past_the_output(argv: list[str], wanted: str, tmp_path: Path,
                                           objects: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _refused([str(objects["elf"]), "-e", "main", *argv], tmp_path / "a.out", capsys, wanted)


@pytest.mark.parametrize("arch, option, value, wanted", [
    ("x86_64", "-stack_size", "0x10000000000000000", "must be below 0x800000000000"),
    ("x86_64", "-pagezero_size", "0xfffffffffffff000", "must be below 0x800000000000"),
    ("x86_64", "-headerpad", "0x7ffffffff000", "must be below 0x10000000"),
    ("i386", "-pagezero_size", "0xfffff000", "past the 32-bit address space"),
])
def test_macho_option_values_past_the_output(arch: str, option: str, value: str, wanted: str,
                                             tmp_path: Path, objects: dict[str, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    obj = objects["macho64" if arch == "x86_64" else "macho32"]
    _refused(["-arch", arch, option, value, str(obj), "-lSystem"], tmp_path / "a.out", capsys,
             wanted)


def test_script_naming_itself(tmp_path: Path, objects: dict[str, Path],
                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "self.so").write_text(f"GROUP ( {objects['elf']} {tmp_path / 'self.so'} )")
    _refused(["-e", "main", str(tmp_path / "self.so")], tmp_path / "a.out", capsys,
             "self.so: linker script names itself")


def test_scripts_naming_each_other_through_l(tmp_path: Path, objects: dict[str, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "liba.so").write_text("INPUT ( -lb )")
    (tmp_path / "libb.so").write_text("INPUT ( -la )")
    _refused([str(objects["elf"]), "-e", "main", "-L", str(tmp_path), "-la"],
             tmp_path / "a.out", capsys, "linker script names itself")


def test_as_needed_nested_thousands_deep(tmp_path: Path, objects: dict[str, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    deep = "AS_NEEDED ( " * 5000 + str(objects["elf"]) + " )" * 5000
    (tmp_path / "deep.so").write_text(f"GROUP ( {deep} )")
    assert main(["-e", "main", str(tmp_path / "deep.so"), "-o", str(tmp_path / "a.out")]) == 0
    assert (tmp_path / "a.out").is_file()
    (tmp_path / "open.so").write_text("GROUP ( " + "AS_NEEDED ( " * 5000)
    _refused(["-e", "main", str(tmp_path / "open.so")], tmp_path / "b.out", capsys,
             "expected ')', found 'end of file'")


def test_link_of_shared_objects_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    """No object at all (an empty INPUT(), or only a library): GNU ld links it with a
    warning about the entry point; the relocation pass once joined zero tables."""
    (tmp_path / "empty.so").write_text("INPUT ( )")
    assert main(["-e", "main", str(tmp_path / "empty.so"), "-o", str(tmp_path / "a.out")]) == 0
    assert "cannot find entry symbol main" in capsys.readouterr().err
    assert (tmp_path / "a.out").is_file()


def test_thin_archive_naming_a_device(tmp_path: Path, objects: dict[str, Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    names = "/dev/zero/\n"
    archive = (b"!<thin>\n" + b"//".ljust(48) + str(len(names)).encode().ljust(10) + b"`\n"
               + names.encode() + b"\n" + b"/0".ljust(16) + b"0".ljust(32) + b"8".ljust(10) + b"`\n")
    (tmp_path / "libthin.a").write_bytes(archive)
    _refused([str(objects["elf"]), "-e", "main", str(tmp_path / "libthin.a")],
             tmp_path / "a.out", capsys, "libthin.a: offset 0x50: thin archive member "
             "/dev/zero: not a regular file")


def test_map_to_a_full_device_leaves_no_output(tmp_path: Path, objects: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A map written to /dev/full fails (ENOSPC) after the output was staged: the output
    was once renamed into place first, and stayed."""
    _refused([str(objects["elf"]), "-e", "main", "-Map=/dev/full"], tmp_path / "a.out",
             capsys, "/dev/full: cannot write map file: No space left on device")


def test_run_refuses_a_timeout_that_is_not_a_number(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`linkharness run --timeout nan` compared false with every clock reading: a guest
    that loops ran for ever.  Now a usage error (status 2) before anything runs."""
    from oracle.emulate.cli import main as run_main
    (tmp_path / "loop.c").write_text("int main(void) { for (;;); }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "loop"), str(tmp_path / "loop.c")], check=True)
    with pytest.raises(SystemExit) as exited:
        run_main(["--timeout", "nan", str(tmp_path / "loop")])
    assert exited.value.code == 2
    assert "not a positive number of seconds: nan" in capsys.readouterr().err


@pytest.mark.parametrize("limit", [["--timeout", "-1"], ["--timeout", "0"],
                                   ["--memory-cap", "-5"], ["--max-instructions", "0"]])
def test_run_refuses_limits_that_end_every_run_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: list[str]) -> None:
    """A limit of zero or less made every run a "fault" of the program (a timeout at its
    first instruction, a file "larger than the memory cap"): it is the command line's."""
    from oracle.emulate.cli import main as run_main
    with pytest.raises(SystemExit) as exited:
        run_main([*limit, str(tmp_path / "never-read")])
    assert exited.value.code == 2
    assert f"argument {limit[0]}: not a positive" in capsys.readouterr().err


def test_response_files_large_and_long_worded(tmp_path: Path, objects: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`@FILE` of 3 GiB (sparse) once took 15 GB and a minute; a 2 MB word took shlex
    450 s.  Past RESPONSE_FILE_LIMIT it is refused; a long word is split in linear time."""
    import time

    from linker.gnu_argv import RESPONSE_FILE_LIMIT
    huge = tmp_path / "huge.rsp"
    huge.write_text(f"{objects['elf']} -e main")
    with huge.open("r+b") as f:
        f.truncate(RESPONSE_FILE_LIMIT + 1)
    _refused([f"@{huge}"], tmp_path / "a.out", capsys,
             f"a response file of {RESPONSE_FILE_LIMIT + 1} bytes")
    word = tmp_path / "word.rsp"
    word.write_text(f"{objects['elf']} -e main " + "x" * 3_000_000)
    start = time.process_time()
    _refused([f"@{word}"], tmp_path / "b.out", capsys, "xxxx")
    assert time.process_time() - start < 5.0


@pytest.mark.parametrize("text", ["a b", "'a b' c", '"a \\" b"', "a\\ b", "''", '"\\x"',
                                  "a\\\nb", "'unclosed", '"unclosed', "end\\"])
def test_response_file_words_are_shlex_words(text: str) -> None:
    import shlex

    from linker.gnu_argv import split_words
    try:
        want: list[str] | str = shlex.split(text)
    except ValueError as e:
        want = str(e)
    try:
        got: list[str] | str = split_words(text)
    except ValueError as e:
        got = str(e)
    assert got == want


def test_emulator_seed_directory_with_a_huge_file(tmp_path: Path) -> None:
    """`linkharness run --files DIR` read each file before adding up the sizes: a 3 GiB
    sparse file took 21 s and 3 GB before it was refused."""
    import time

    from oracle.emulate.files import MAX_SEED_BYTES, MemoryFiles, SeedError
    (tmp_path / "seed").mkdir()
    with (tmp_path / "seed" / "big").open("wb") as f:
        f.truncate(3 << 30)
    start = time.process_time()
    with pytest.raises(SeedError, match=f"more than {MAX_SEED_BYTES} bytes"):
        MemoryFiles.seeded(tmp_path / "seed")
    assert time.process_time() - start < 1.0


def test_text_inputs_of_gigabytes(tmp_path: Path, objects: dict[str, Path],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A --dynamic-list of 5 GiB (sparse) was read whole while the command line was
    parsed, outside the error reporting: a MemoryError traceback under an address-space
    limit; a GROUP script of gigabytes was decoded whole.  Both are refused by size."""
    from linker.input_file import TEXT_LIMIT
    listed = tmp_path / "list"
    listed.write_text("{ main; };")
    script = tmp_path / "libbig.so"
    script.write_text(f"GROUP ( {objects['elf']} )\n" + " " * 8192)  # text past the sniff
    for path in (listed, script):
        with path.open("r+b") as f:
            f.truncate(5 << 30)
    _refused([str(objects["elf"]), "-e", "main", "--dynamic-list", str(listed)],
             tmp_path / "a.out", capsys, f"list: a text input of {5 << 30} bytes")
    _refused(["-e", "main", str(script)], tmp_path / "b.out", capsys,
             f"libbig.so: offset 0x0: a linker script of {5 << 30} bytes (at most "
             f"{TEXT_LIMIT})")


@pytest.mark.parametrize("entry, wanted", [
    ("99999999999999999999999999", 0xFFFFFFFFFFFFFFFF),  # past 64 bits: 2**64-1
    ("-1", 0xFFFFFFFFFFFFFFFF),
    ("0x401000", 0x401000),
])
def test_a_numeric_entry_is_read_as_gnu_ld_reads_it(entry: str, wanted: int, tmp_path: Path,
                                                    objects: dict[str, Path]) -> None:
    """-e NUMBER that names no symbol: GNU ld's strtoull (a huge number was a
    struct.error out of the header writer)."""
    out = tmp_path / "a.out"
    assert main([str(objects["elf"]), "-e", entry, "-o", str(out)]) == 0
    assert int.from_bytes(out.read_bytes()[24:32], "little") == wanted


def test_objects_of_the_other_class_read_as_a_batch_are_one_line(
        tmp_path: Path, objects: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """`-m elf_i386` before two x86-64 objects: the bulk reader's batch was refused at its
    first object, and adding the (empty) batch before it raised a numpy ValueError (found
    by the command-line family, `script@options` case 981 of seed 4)."""
    _refused(["-m", "elf_i386", str(objects["elf"]), str(objects["elf"])], tmp_path / "a.out",
             capsys, "object is x86_64, but the link is for i386")
