"""Thread-local variables on Mach-O x86-64: clang's `_Thread_local` (__thread_vars
descriptors, __thread_data, __thread_bss, X86_64_RELOC_TLV loads) linked by linkharness
with and without chained fixups; the emulated dyld points the thunks at tlv_get_addr and
gives the thread its copy of the template.  The programs print and exit as the same
source does natively on Linux; the checker and the field oracle accept the output and
catch a descriptor pointing at the wrong variable."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import LinkError, link
from oracle import run
from oracle.check import check
from oracle.check.macho import check_macho
from oracle.emulate.macho import image as mi
from oracle.relocs.check import check_fields_report
from tests.linker.macho.tlv_counter_program import counter_program

INCLUDE = Path(__file__).resolve().parents[2] / "macho_include"
PROGRAM = counter_program("long")
FLAVOURS = {"opcodes": False, "chained": True}


@pytest.fixture(scope="module")
def native(run_natively: Callable[..., tuple[bytes, int]]) -> tuple[bytes, int]:
    return run_natively(PROGRAM, "tlv")


@pytest.fixture(scope="module")
def obj(macho_cc: Callable[..., Path]) -> Path:
    return macho_cc(PROGRAM, "tlv", "-nostdlibinc", "-isystem", str(INCLUDE), "-O1")


@pytest.fixture(scope="module")
def outputs(obj: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tlv")
    out = {}
    for name, chains in FLAVOURS.items():
        out[name] = root / name
        link([obj, "-lSystem"], out[name], target="macho-x86_64", fixup_chains=chains)
    return out


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_runs_as_natively(outputs: dict[str, Path], native: tuple[bytes, int],
                          flavour: str) -> None:
    assert native[0].startswith(b"7 10 37 1 tls\n108 Tls")
    for bind in ("lazy", "now"):
        result = run(str(outputs[flavour]), bind=bind)
        assert (result.stdout, result.exit_code, result.faults) == (*native, [])
        assert all("tlv" not in e.symbol for e in result.trace)  # dyld's, not the program's


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_structure_flag_and_fields(outputs: dict[str, Path], obj: Path, flavour: str) -> None:
    path = outputs[flavour]
    img = mi.parse(path.read_bytes())
    assert img.flags & 0x800000  # MH_HAS_TLV_DESCRIPTORS
    types = {s.sectname: s.type for s in img.sections()}
    assert (types["__thread_vars"], types["__thread_data"], types["__thread_bss"]) == (
        0x13, 0x11, 0x12)
    assert check(path) == []
    report = check_fields_report(str(path), [str(obj)])
    assert not report.mismatches, str(report)
    assert any(c.type_name == "X86_64_RELOC_TLV" for c in report.confirmed)


def _descriptor_offsets(data: bytes) -> list[tuple[int, int]]:
    """(file offset of the offset word, its value) of each descriptor."""
    img = mi.parse(data)
    sect = next(s for s in img.sections() if s.type == 0x13)
    return [(sect.offset + 24 * k + 16, struct.unpack_from("<Q", data, sect.offset + 24 * k
                                                              + 16)[0])
            for k in range(sect.size // 24)]


def test_a_descriptor_pointing_elsewhere_is_caught(outputs: dict[str, Path], obj: Path,
                                                   native: tuple[bytes, int],
                                                   tmp_path: Path) -> None:
    data = bytearray(outputs["opcodes"].read_bytes())
    offsets = _descriptor_offsets(bytes(data))
    (at, _), (_, second) = offsets[0], offsets[1]
    struct.pack_into("<Q", data, at, second)  # the first variable aliases the second
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    result = run(str(bad))
    assert (result.stdout, result.exit_code) != native
    report = check_fields_report(str(bad), [str(obj)])
    assert report.mismatches, "the field oracle must see the wrong template offset"
    struct.pack_into("<Q", data, at, 0x10000)  # outside the template
    assert "MACHO-TLV" in {v.rule for v in check_macho(bytes(data))}


def test_the_flag_is_checked(outputs: dict[str, Path]) -> None:
    data = bytearray(outputs["opcodes"].read_bytes())
    flags = struct.unpack_from("<I", data, 24)[0]
    struct.pack_into("<I", data, 24, flags & ~0x800000)
    assert "MACHO-TLV" in {v.rule for v in check_macho(bytes(data))}


def test_ld64_lld_output_is_judged_alike(obj: Path, native: tuple[bytes, int],
                                         tmp_path: Path) -> None:
    """The reference linker's TLV output (it relaxes the local loads to leaq) under the same
    dyld, checker and field oracle."""
    tbd = Path(__file__).resolve().parents[3] / "linker" / "macho" / "data" / "libSystem.tbd"
    out = tmp_path / "lld"
    subprocess.run(["ld64.lld-14", "-arch", "x86_64", "-platform_version", "macos", "10.9",
                    "11.0", "-o", str(out), str(obj), str(tbd)], check=True)
    result = run(str(out))
    assert (result.stdout, result.exit_code, result.faults) == (*native, [])
    assert check(out) == []
    assert not check_fields_report(str(out), [str(obj)]).mismatches


THREADS = r"""
#include <stdio.h>
#include <pthread.h>
_Thread_local int counter = 100;
_Thread_local char name[16] = "main";
static pthread_key_t key;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int total;
static void *work(void *arg) {
    long id = (long)arg;
    counter += (int)id;
    name[0] = (char)('0' + id);
    pthread_setspecific(key, arg);
    pthread_mutex_lock(&lock);
    total += counter;
    pthread_mutex_unlock(&lock);
    return (void *)(long)(counter * 2 + (pthread_getspecific(key) == arg));
}
int main(void) {
    pthread_t t[3];
    pthread_key_create(&key, 0);
    for (long i = 0; i < 3; i++) pthread_create(&t[i], 0, work, (void *)(i + 1));
    long sum = 0;
    for (int i = 0; i < 3; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("main counter=%d name=%s total=%d sum=%ld self=%d\n", counter, name, total, sum,
           pthread_equal(pthread_self(), pthread_self()));
    return total % 256;
}
"""


@pytest.mark.parametrize(("target", "chains"), [("macho-x86_64", False),
                                                ("macho-x86_64", True), ("macho-i386", False)])
def test_each_thread_has_its_own_copy(macho_cc: Callable[..., Path],
                                      macho32_tlv_cc: Callable[..., Path],
                                      run_natively: Callable[..., tuple[bytes, int]],
                                      tmp_path: Path, target: str, chains: bool) -> None:
    """pthread_create runs the thread (its own TSD, so its own thread-local variables and
    pthread_getspecific values); the output is the native one (gcc -m64 / -m32)."""
    i386 = target == "macho-i386"
    bits = "-m32" if i386 else "-m64"
    native = run_natively(THREADS, f"threads{bits}", bits, "-pthread")
    if i386:
        o = macho32_tlv_cc(THREADS, "threads32")
    else:
        o = macho_cc(THREADS, f"threads{int(chains)}", "-nostdlibinc", "-isystem", str(INCLUDE))
    out = tmp_path / "th"
    link([o, "-lSystem"], out, target=target, fixup_chains=chains)
    result = run(str(out))
    assert native[0].startswith(b"main counter=100 name=main total=306")
    assert (result.stdout, result.exit_code, result.faults) == (*native, [])


ALIGNED_BSS = """
    .section __DATA,__thread_data,thread_local_regular
    .p2align 2
_small$tlv$init: .long 1
    .section __DATA,__thread_vars,thread_local_variables
    .globl _small
_small: .quad __tlv_bootstrap
    .quad 0
    .quad _small$tlv$init
.tbss _wide$tlv$init, 16, 4
    .globl _wide
_wide: .quad __tlv_bootstrap
    .quad 0
    .quad _wide$tlv$init
    .data
    .p2align 3
_pad: .quad PAD
    .text
    .globl _main
_main:
    pushq %rbp
    movq _wide@TLVP(%rip), %rdi
    callq *(%rdi)
    andl $15, %eax
    popq %rbp
    retq
"""


def test_the_template_keeps_its_largest_alignment(macho_asm: Callable[..., Path],
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A 16-aligned __thread_bss variable after a 4-byte __thread_data one: the template
    starts 16-aligned, so the variable is 16-aligned in the thread's copy (main returns its
    address mod 16).  Without that, whether it breaks depends on where __thread_data falls:
    where it starts 8 past 16, MACHO-TLV-TEMPLATE-ALIGN reports it and main returns 8."""
    from linker.macho import tlv
    seen = set()
    for pad in (0, 1):  # 8 bytes of __data or 16: __thread_data's own start 8 or 0 mod 16
        o = macho_asm(ALIGNED_BSS.replace(".quad PAD", ".quad 0\n" * (1 + pad)),
                      f"aligned_bss{pad}")
        good, bad = tmp_path / f"good{pad}", tmp_path / f"bad{pad}"
        link([o, "-lSystem"], good, target="macho-x86_64")
        assert check(good) == []
        assert run(str(good)).exit_code == 0
        with monkeypatch.context() as mp:
            mp.setattr(tlv, "align_template", lambda outs: None)
            link([o, "-lSystem"], bad, target="macho-x86_64")
        rules = {v.rule for v in check(bad)}
        seen.add((run(str(bad)).exit_code, "MACHO-TLV-TEMPLATE-ALIGN" in rules))
    assert seen == {(0, False), (8, True)}


@pytest.mark.parametrize("arch", ["x86_64", "i386"])
def test_a_tlv_reference_to_a_regular_symbol_is_refused(
        arch: str, macho_asm: Callable[..., Path], macho32_asm: Callable[..., Path],
        tmp_path: Path) -> None:
    """As ld64 refuses it: the code would call through the words of an ordinary variable.
    One line naming the object, the section, the offset and the symbol; no output."""
    if arch == "x86_64":
        o = macho_asm(".data\n_regular: .long 5\n.text\n.globl _main\n_main:\n"
                      "movq _regular@TLVP(%rip), %rdi\ncallq *(%rdi)\nretq\n", "tlv_regular")
    else:
        o = macho32_asm(".data\n_regular: .long 5\n.text\n.globl _main\n_main:\n"
                        "calll 0f\n0: popl %ebx\nmovl _regular@TLVP-0b(%ebx), %eax\n"
                        "calll *(%eax)\nretl\n", "tlv_regular32")
    out = tmp_path / "bad"
    with pytest.raises(LinkError) as err:
        link([o, "-lSystem"], out, target=f"macho-{arch}")
    message = str(err.value)
    assert "not a __thread_vars descriptor" in message and "_regular" in message
    assert "tlv_regular" in message and "__text" in message and "\n" not in message
    assert not out.exists()
