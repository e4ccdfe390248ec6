"""The emulated dyld on i386 Mach-O, judged on the hand-built image of macho_i386_image (no
linker involved): LC_MAIN and LC_UNIXTHREAD entries, lazy binding through a really executed
dyld_stub_binder, classic binding through the indirect symbol table, cdecl libSystem, and
the Darwin i386 ABI's 16-byte stack alignment at every libSystem call."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from macho_i386_image import CODE, LA_PTR, MSG_POINTER, Options, build_i386
from macho_i386_sources import (
    DIVIDE_BY_ZERO,
    HEADERS,
    KITCHEN,
    LIBC_EXTRAS,
    LIBTRACE,
    LIBTRACE_TBD,
    MISC,
    PATTERN_FILL,
    READ_STDIN,
    SYSCALLS,
    ZERO_AND_SINCOS,
)

from linker import link
from oracle.emulate import RunResult, run
from oracle.emulate.macho import image as mi
from oracle.emulate.macho.libraries import LibSystem
from oracle.emulate.macho.opcodes import decode_binds, decode_rebases

LIBSYSTEM = "/usr/lib/libSystem.B.dylib"
OUTPUT = b"hello from i386\nanswer=42\nhello from i386\n"
MODES = ("lazy", "now")


def _run(tmp_path: Path, options: Options, bind: str) -> RunResult:
    exe = tmp_path / "i386.exe"
    exe.write_bytes(build_i386(options))
    return run(exe, [str(exe)], bind=bind)


def test_reads_the_32_bit_layout() -> None:
    img = mi.parse(build_i386(Options(classic=True)))
    assert (img.is64, img.word, img.cputype) == (False, 4, mi.CPU_TYPE_I386)
    assert [s.name for s in img.segments] == ["__PAGEZERO", "__TEXT", "__DATA", "__LINKEDIT"]
    assert img.thread_rip == CODE  # eip, the 11th word of x86_THREAD_STATE32
    names = {s.name for s in img.symbols()}
    assert {"_main", "_puts", "_exit", "start"} <= names
    assert img.main_entryoff is None


def test_opcodes_step_by_four_bytes() -> None:
    img = mi.parse(build_i386(Options()))
    assert img.dyld_info is not None
    rebases = decode_rebases(img.bytes_at(*img.dyld_info.rebase, "rebase"), pointer_size=4)
    data = img.segments[2].vmaddr
    assert [data + r.offset for r in rebases] == [LA_PTR, LA_PTR + 4, MSG_POINTER]
    lazy = decode_binds(img.bytes_at(*img.dyld_info.lazy_bind, "lazy"), lazy=True,
                        pointer_size=4)
    assert [(b.symbol, data + b.offset) for b in lazy] == [("_puts", LA_PTR),
                                                           ("_printf", LA_PTR + 4)]


@pytest.mark.parametrize("bind", MODES)
@pytest.mark.parametrize("classic", [False, True])
def test_runs(tmp_path: Path, classic: bool, bind: str) -> None:
    result = _run(tmp_path, Options(classic=classic), bind)
    assert result.faults == []
    assert (result.stdout, result.exit_code) == (OUTPUT, 7)
    calls = ["puts", "printf", "puts"] + (["exit"] if classic else [])
    assert [t.symbol for t in result.trace] == calls
    assert {t.library for t in result.trace} == {LIBSYSTEM}


@pytest.mark.parametrize("bind", MODES)
def test_misaligned_call_into_libsystem_faults_at_the_call_site(tmp_path: Path,
                                                                bind: str) -> None:
    """A frame of 20 bytes leaves esp 4 bytes off 16 at every call of main; the fault
    names the first one, the `call` 14 bytes into main (after push ebp; mov ebp,esp;
    sub esp,20; mov eax,[msg]; mov [esp],eax)."""
    result = _run(tmp_path, Options(frame=20), bind)
    assert result.exit_code is None and result.stdout == b""
    [fault] = result.faults
    assert fault.kind == "misaligned-stack"
    assert (fault.address, fault.symbol) == (CODE + 14, "_main+0xe")
    assert "call to puts" in fault.message and "16-byte aligned" in fault.message


def test_binder_checks_the_pushed_offset(tmp_path: Path) -> None:
    """Each helper entry pushes the other's lazy-bind offset: calling puts would bind
    printf's pointer and run printf; binding everything at load never reaches a helper."""
    result = _run(tmp_path, Options(swap_helper_offsets=True), "lazy")
    [fault] = result.faults
    assert fault.kind == "bad-resolver"
    assert f"went through the stub of lazy pointer {LA_PTR:#x}" in fault.message
    assert _run(tmp_path, Options(swap_helper_offsets=True), "now").exit_code == 7


def test_refuses_a_32_bit_file_of_another_cpu(tmp_path: Path) -> None:
    data = bytearray(build_i386(Options()))
    struct.pack_into("<i", data, 4, 18)  # CPU_TYPE_POWERPC
    exe = tmp_path / "ppc.exe"
    exe.write_bytes(bytes(data))
    [fault] = run(exe).faults
    assert fault.kind == "load" and "CPU_TYPE_I386" in fault.message


def test_unixthread_without_an_i386_state_has_no_entry(tmp_path: Path) -> None:
    """x86_THREAD_STATE32 is the flavour an i386 thread's eip is read from: another flavour
    (here 4, the 64-bit one) leaves the file without an entry."""
    data = bytearray(build_i386(Options(classic=True)))
    img = mi.parse(bytes(data))
    thread = next(lc for lc in img.commands if lc.cmd == mi.LC_UNIXTHREAD)
    struct.pack_into("<I", data, thread.offset + 8, mi.X86_THREAD_STATE64)
    exe = tmp_path / "nothread.exe"
    exe.write_bytes(bytes(data))
    [fault] = run(exe).faults
    assert fault.kind == "load" and "x86_THREAD_STATE32" in fault.message


def test_unix2003_variants_are_the_plain_functions() -> None:
    """The SDK's i386 headers rename some calls (`_fputs$UNIX2003`); libSystem serves each
    variant with the function of the plain name."""
    lib = LibSystem(LIBSYSTEM, 4)
    for variant in ("_fputs$UNIX2003", "_fwrite$UNIX2003", "_puts$DARWIN_EXTSN"):
        plain = variant.split("$")[0]
        found, want = lib.resolve(variant, None), lib.resolve(plain, None)  # type: ignore[arg-type]
        assert found is not None and want is not None and found.export == want.export


@pytest.mark.parametrize("classic", [False, True])
def test_darwin_i386_system_calls(tmp_path: Path, classic: bool) -> None:
    """write and exit through `int $0x80` with stack arguments; a failing write sets the
    carry flag and leaves EBADF in eax (the program exits 42 only if all of that holds)."""
    src, obj, exe = tmp_path / "sys.s", tmp_path / "sys.o", tmp_path / "sys.exe"
    src.write_text(SYSCALLS)
    subprocess.run(["llvm-mc-14", "-triple=i386-apple-macosx10.6", "-filetype=obj", str(src),
                    "-o", str(obj)], check=True, capture_output=True)
    link([str(obj)], exe, target="macho-i386", macho_classic=classic,
         entry="_main" if classic else None)
    result = run(exe)
    assert (result.faults, result.stdout, result.exit_code) == ([], b"hello\n", 42)


@pytest.mark.parametrize("classic", [False, True])
def test_libtrace_imports(tmp_path: Path, classic: bool) -> None:
    """Recorders return the same hashes as on x86-64 (they fit in 31 bits), a pointer to a
    recorder bound in data is called, and a data import with an addend reads word 1."""
    (tmp_path / "lt.c").write_text(LIBTRACE)
    (tmp_path / "libtrace1.tbd").write_text(LIBTRACE_TBD)
    subprocess.run(["clang-14", "-target", "i386-apple-macosx10.6", "-O1", "-w", "-c",
                    str(tmp_path / "lt.c"), "-o", str(tmp_path / "lt.o")], check=True,
                   capture_output=True)
    exe = tmp_path / "lt.exe"
    link([str(tmp_path / "lt.o"), str(tmp_path / "libtrace1.tbd"), "-lSystem"], exe,
         target="macho-i386", macho_classic=classic)
    for bind in MODES:
        result = run(exe, bind=bind)
        assert result.faults == [] and result.exit_code == 0
        assert result.stdout == b"1915301887 1639991641 3594306059\n"
        recorders = [(t.symbol, t.args) for t in result.trace
                     if t.library == "/usr/lib/libtrace1.dylib"]
        assert recorders == [("lt1_f2_a2", (5, 7)), ("lt1_f0_a0", ())]


PROGRAMS = Path(__file__).parents[2] / "programs"
TARGETS = {"macho-i386": "i386-apple-macosx10.6", "macho-x86_64": "x86_64-apple-macosx10.9"}


def _matches_native(tmp_path: Path, target: str, source: Path,
                    args: tuple[str, ...] = (), stdin: bytes = b"") -> None:
    """`source` built for `target` and linked against the shipped libSystem.tbd prints,
    lazily and at load, what its native gcc -m32 build prints, and exits the same way."""
    obj, exe, native = tmp_path / "p.o", tmp_path / "p.exe", tmp_path / "native"
    subprocess.run(["clang-14", "-target", TARGETS[target], "-nostdlibinc", "-isystem",
                    str(Path(__file__).parents[2] / "macho_include"), "-O2", "-w", "-c",
                    str(source), "-o", str(obj)], check=True, capture_output=True)
    link([str(obj), "-lSystem"], exe, target=target)
    subprocess.run(["gcc", "-m32", "-O2", "-w", str(source), "-o", str(native), "-lm"],
                   check=True, capture_output=True)
    expected = subprocess.run([str(native), *args], capture_output=True, check=False,
                              input=stdin)
    for bind in MODES:
        result = run(exe, [str(exe), *args], bind=bind, stdin=stdin)
        assert result.faults == []
        assert (result.exit_code, result.stdout, result.stderr) == (
            expected.returncode, expected.stdout, expected.stderr)


@pytest.mark.parametrize("target", TARGETS)
def test_libsystem_serves_libm(tmp_path: Path, target: str) -> None:
    """tests/programs/math_libm: doubles on the stack and in st(0) on i386, in xmm
    registers on x86-64."""
    _matches_native(tmp_path, target, PROGRAMS / "math_libm.c", ("x",))


@pytest.mark.parametrize("target", TARGETS)
def test_libsystem_extras_match_a_native_build(tmp_path: Path, target: str) -> None:
    """strtod (decimal, hex, inf, nan, overflow with ERANGE, no number), atof, strtok,
    strerror, perror and llabs."""
    source = tmp_path / "extra.c"
    source.write_text(LIBC_EXTRAS)
    _matches_native(tmp_path, target, source)


@pytest.mark.parametrize("target", TARGETS)
def test_darwin_signals(tmp_path: Path, target: str) -> None:
    """tests/programs/signal_handler: signal, raise, and sigaction with Darwin's struct
    (sa_flags after a 32-bit mask) and SA_SIGINFO 0x40."""
    _matches_native(tmp_path, target, PROGRAMS / "signal_handler.c")


def test_i386_kitchen_sink_matches_a_native_build(tmp_path: Path) -> None:
    """Structures by value, varargs of doubles and long longs, 64-bit division through the
    compiler runtime's ___divdi3 & co, snprintf formats, setjmp/longjmp."""
    source = tmp_path / "kitchen.c"
    source.write_text(KITCHEN)
    _matches_native(tmp_path, "macho-i386", source)


def test_i386_division_by_zero_is_a_divide_error(tmp_path: Path) -> None:
    source, obj, exe = tmp_path / "div.c", tmp_path / "div.o", tmp_path / "div.exe"
    source.write_text(DIVIDE_BY_ZERO)
    subprocess.run(["clang-14", "-target", TARGETS["macho-i386"], "-O2", "-c", str(source),
                    "-o", str(obj)], check=True, capture_output=True)
    link([str(obj), "-lSystem"], exe, target="macho-i386")
    [fault] = run(exe, [str(exe)]).faults
    assert fault.kind == "cpu" and "divide error: __divdi3" in fault.message
    assert fault.symbol is not None and fault.symbol.startswith("_main")


@pytest.mark.parametrize("target", TARGETS)
def test_memset_pattern16_from_clang(tmp_path: Path, target: str) -> None:
    source = tmp_path / "pattern.c"
    source.write_text(PATTERN_FILL)
    _matches_native(tmp_path, target, source)


@pytest.mark.parametrize("target", TARGETS)
def test_bzero_and_sincos_from_clang(tmp_path: Path, target: str) -> None:
    source = tmp_path / "zero.c"
    source.write_text(ZERO_AND_SINCOS)
    _matches_native(tmp_path, target, source)


@pytest.mark.parametrize("target", TARGETS)
def test_scanf_from_stdin(tmp_path: Path, target: str) -> None:
    source = tmp_path / "read.c"
    source.write_text(READ_STDIN)
    _matches_native(tmp_path, target, source, stdin=b"3\n10 20 30\n2.5 hello\ntail chars\n")


@pytest.mark.parametrize("target", TARGETS)
def test_math_extras_and_a_tmpfile(tmp_path: Path, target: str) -> None:
    source = tmp_path / "misc.c"
    source.write_text(MISC)
    _matches_native(tmp_path, target, source)


@pytest.mark.parametrize("target", TARGETS)
def test_headers_declare_and_assert_aborts(tmp_path: Path, target: str) -> None:
    """tests/macho_include declares strtok, strtod, atof, cbrt, llabs, strerror (no implicit
    declarations), and a failed assert() aborts through __assert_rtn with Darwin's message;
    stdout and the status are the native build's (whose assert message is glibc's)."""
    source, obj, exe = tmp_path / "hdr.c", tmp_path / "hdr.o", tmp_path / "hdr.exe"
    source.write_text(HEADERS)
    subprocess.run(["clang-14", "-target", TARGETS[target], "-nostdlibinc", "-isystem",
                    str(Path(__file__).parents[2] / "macho_include"), "-O2",
                    "-Werror=implicit-function-declaration", "-c", str(source), "-o", str(obj)],
                   check=True, capture_output=True)
    link([str(obj), "-lSystem"], exe, target=target)
    native = tmp_path / "native"
    subprocess.run(["gcc", "-m32", "-O2", "-w", str(source), "-o", str(native), "-lm"],
                   check=True, capture_output=True)
    expected = subprocess.run([str(native)], capture_output=True, check=False)
    result = run(exe, [str(exe)])
    assert (result.exit_code, result.stdout) == (134, expected.stdout)
    assert expected.returncode == -6  # SIGABRT
    line = HEADERS.splitlines().index("    assert(argc == 5);") + 1
    assert result.stderr == (f"Assertion failed: (argc == 5), function main, file {source}, "
                             f"line {line}.\n").encode()
    assert [f.kind for f in result.faults] == ["abort"]
