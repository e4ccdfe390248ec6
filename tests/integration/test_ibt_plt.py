"""IBT PLTs (`-z ibtplt`, and `-z ibt`'s) on a real C program, against GNU ld's.

The program calls three libc functions (each through a lazy PLT entry) and takes one's
address (a function pointer: the canonical .plt.sec entry).  Linked through `gcc -B` by
linkharness and with GNU ld, x86-64 and i386, fixed-address and PIE: the two outputs must
have `.plt` and `.plt.sec` of the same sizes (see the PIE exception below) holding the same
instructions (the bytes outside
the displacement and push fields equal), run natively and under the emulator with GNU ld's
output's stdout (lazy binding: LD_BIND_NOW is unset), pass `oracle.check`, and the field
oracle must confirm every field.  objdump names each `.plt.sec` entry `name@plt`, as it does
GNU ld's.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from oracle.check import check
from oracle.emulate import run
from oracle.relocs import check_fields

SOURCE = r"""#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int compare(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    int v[] = {3, 1, 2};
    size_t (*len)(const char *) = strlen;
    qsort(v, 3, sizeof v[0], compare);
    printf("%d %d %d %zu\n", v[0], v[1], v[2], len("four"));
    puts("done");
    return 0;
}
"""
ENTRY = 16
# Within each 16-byte entry, the bytes a link fills in (a displacement, a push immediate)
LAZY_FIELDS = {"x86_64": (range(5, 9), range(10, 14)), "i386": (range(5, 9), range(10, 14))}
SEC_FIELDS = (range(6, 10),)

# -z ibt (IBT PLT because the output is marked IBT) on the fixed-address forms only
CASES = [(arch, pie, z) for arch in ("x86_64", "i386") for pie in (False, True)
         for z in (("ibtplt",) if pie else ("ibtplt", "ibt"))]


def _sections(path: Path) -> dict[str, bytes]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        return {name: sec.data() for name in (".plt", ".plt.sec")
                if (sec := elf.get_section_by_name(name)) is not None}


def _skeleton(data: bytes, first: int, fields: tuple[range, ...]) -> list[bytes]:
    """The entries from offset `first`, with the link-filled fields zeroed."""
    out = []
    for at in range(first, len(data), ENTRY):
        entry = bytearray(data[at:at + ENTRY])
        for field in fields:
            for i in field:
                entry[i] = 0
        out.append(bytes(entry))
    return out


def _native(exe: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "LD_BIND_NOW"}
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, env=env,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("arch,pie,z", CASES,
                         ids=[f"{a}-{'pie' if p else 'nopie'}-{z}" for a, p, z in CASES])
def test_ibt_plt_is_gnu_lds(arch: str, pie: bool, z: str, tmp_path: Path,
                            linkharness_shim: str) -> None:
    machine = ["-m32"] if arch == "i386" else []
    pic = ["-fpie", "-pie"] if pie else ["-fno-pie", "-no-pie"]
    src = tmp_path / "prog.c"
    src.write_text(SOURCE)
    obj = tmp_path / "prog.o"
    subprocess.run(["gcc", *machine, *pic[:1], "-fcf-protection", "-O1", "-c", str(src),
                    "-o", str(obj)], check=True)
    outputs = {}
    for name, select in (("gnu", "-fuse-ld=bfd"), ("lh", f"-B{linkharness_shim}")):
        exe = tmp_path / name
        subprocess.run(["gcc", *machine, pic[1], select, f"-Wl,-z,{z}", str(obj), "-o",
                        str(exe)], check=True)
        outputs[name] = exe
    gnu, lh = (_sections(outputs[n]) for n in ("gnu", "lh"))
    assert set(gnu) == set(lh) == {".plt", ".plt.sec"}
    for name, first, fields in ((".plt", ENTRY, LAZY_FIELDS[arch]), (".plt.sec", 0, SEC_FIELDS)):
        # (in a PIE GNU ld calls __cxa_finalize through .plt.got, linkharness through a PLT
        # entry: the counts differ by that one, the entries' forms must not)
        assert len(lh[name]) == len(gnu[name]) or pie, name
        assert set(_skeleton(lh[name], first, fields)) == set(
            _skeleton(gnu[name], first, fields)), name
    if arch == "i386":  # PLT0: absolute GOT addresses, or n(%ebx) in a PIE
        assert lh[".plt"][:2] == gnu[".plt"][:2] and lh[".plt"][6:8] == gnu[".plt"][6:8]
    expected = _native(outputs["gnu"])
    assert _native(outputs["lh"]) == expected == "1 2 3 4\ndone\n"
    assert check(str(outputs["lh"])) == []
    assert check_fields(str(outputs["lh"]), [str(obj)]) == []
    emulated = run(str(outputs["lh"]))
    assert emulated.faults == [] and emulated.stdout.decode() == expected
    listing = subprocess.run(["objdump", "-d", "-j", ".plt.sec", str(outputs["lh"])],
                             capture_output=True, text=True, check=True).stdout
    assert "<puts@plt>:" in listing and "<qsort@plt>:" in listing
