"""`--emit-relocs` (`-q`) on real C programs, against GNU ld's output for the same objects.

Two files (globals, statics, a pointer table, strings, a jump table, calls within and out
to libc) are compiled with gcc and linked through `gcc -B` by linkharness and with GNU ld,
`-Wl,-q`, on x86-64 (fixed-address, PIE, static, and -fPIC objects whose thread-local
access GNU ld relaxes and emits as read) and i386 (fixed-address, PIE).  Every
relocation either output emits from inside a function or object of the two files is
compared: the place (the symbol it falls in and the offset in it: the two layouts differ),
the type, the symbol (a section symbol by the place its address plus addend falls at; a
local like `.LC0` in a merged string section by name, as GNU ld keeps it), the addend
where a symbol is named.  The output must still run natively and under the
emulator, pass `oracle.check`, and the field oracle must confirm its fields.  Then a
consumer: `llvm-objdump -dr` prints the call's relocation right under the call in `main`.
A `--gc-sections` link with debug information: the references of `.debug_info` to
collected functions are emitted as GNU ld emits them, type 0 against symbol 0.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from oracle.check import check
from oracle.emulate import run
from oracle.relocs import check_fields

MAIN_C = r"""#include <stdio.h>
#ifdef __x86_64__
__thread int per_thread = 2;  /* -fPIC: general dynamic, relaxed to local exec */
#else
int per_thread = 2;
#endif
int counter = 5;
static int hidden = 7;
static int *hidden_ref = &hidden;
int *counter_ref = &counter;
extern int scale(int);
extern const char *names[];
static int helper(int x) { return x + *hidden_ref; }
int pick(int n) {
    switch (n) {
    case 0: return 11; case 1: return 23; case 2: return 37;
    case 3: return 41; case 4: return 59; default: return -1;
    }
}
int main(void) {
    int total = 0;
    for (int i = 0; i < 5; i++) total += pick(i);
    printf("%d %d %d %s %d\n", *counter_ref, helper(hidden), scale(3), names[1],
           total + per_thread - 2);
    return 0;
}
"""
LIB_C = r"""static int factor = 3;
static int twice(int x) { return 2 * x; }
int (*const ops[])(int) = {twice};
const char *names[] = {"zero", "one", "two"};
int scale(int x) { return ops[0](x) * factor; }
int never_called(int x) { return x + factor; }  /* collected by --gc-sections */
"""
EXPECTED = "5 14 18 one 171\n"

# (i386 -static is refused without -q: libc.a's IFUNCs need .rel.iplt)
CASES = [("x86_64", "nopie"), ("x86_64", "pie"), ("x86_64", "static"), ("x86_64", "fpic"),
         ("i386", "nopie"), ("i386", "pie")]


def _build(tmp: Path, arch: str, mode: str, shim: str, cflags: tuple[str, ...] = (),
           ldflags: tuple[str, ...] = ()) -> tuple[list[Path], dict[str, Path]]:
    machine = ["-m32"] if arch == "i386" else []
    pic = {"nopie": (["-fno-pie"], ["-no-pie"]), "pie": (["-fpie"], ["-pie"]),
           "static": (["-fno-pie"], ["-static"]), "fpic": (["-fPIC"], ["-no-pie"])}[mode]
    objs = []
    for name, text in (("main", MAIN_C), ("lib", LIB_C)):
        src = tmp / f"{name}.c"
        src.write_text(text)
        obj = tmp / f"{name}.o"
        subprocess.run(["gcc", *machine, *pic[0], "-O1", *cflags, "-c", str(src), "-o",
                        str(obj)], check=True)
        objs.append(obj)
    outputs = {}
    for linker, select in (("gnu", "-fuse-ld=bfd"), ("lh", f"-B{shim}")):
        exe = tmp / linker
        subprocess.run(["gcc", *machine, *pic[1], select, "-Wl,-q", *ldflags,
                        *map(str, objs), "-o", str(exe)], check=True)
        outputs[linker] = exe
    return objs, outputs


def _defined_in(objs: list[Path]) -> set[str]:
    names = set()
    for obj in objs:
        with open(obj, "rb") as f:
            symtab = ELFFile(f).get_section_by_name(".symtab")
            assert isinstance(symtab, SymbolTableSection)
            names |= {s.name for s in symtab.iter_symbols()
                      if s["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT") and s.name}
    return names


def _emitted(path: Path, ours: set[str]) -> Counter[tuple[Any, ...]]:
    """Each emitted relocation inside a function or object named in `ours`, normalised:
    (section, symbol it falls in, offset in it, type, target)."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        symbols = list(symtab.iter_symbols())
        spans = sorted((s["st_value"], s["st_value"] + s["st_size"], s.name) for s in symbols
                       if s["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT")
                       and s["st_size"] and s.name in ours)

        def where(addr: int) -> tuple[str, int] | None:
            for start, end, name in spans:
                if start <= addr < end:
                    return name, addr - start
            return None

        out: Counter[tuple[Any, ...]] = Counter()
        for sec in elf.iter_sections():
            if not isinstance(sec, RelocationSection) or not sec["sh_flags"] & 0x40:
                continue
            for rel in sec.iter_relocations():
                place = where(rel["r_offset"])
                if place is None:
                    continue
                sym = symbols[rel["r_info_sym"]]
                addend = rel["r_addend"] if rel.is_RELA() else None
                if sym["st_info"]["type"] == "STT_SECTION":
                    target: Any = ("section",) if addend is None else \
                        where(sym["st_value"] + addend) or ("section",)
                else:
                    # (GNU ld's .symtab names an import with its version: printf@GLIBC_2.2.5)
                    target = (sym.name.partition("@")[0], addend)
                out[(sec.name, *place, rel["r_info_type"], target)] += 1
        return out


def _as_lea(emitted: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """GNU ld rewrites `mov x@GOTPCREL(%rip), %reg` to `mov $x, %reg` in a fixed-address
    executable and emits R_X86_64_32S x + 0; linkharness rewrites it to `lea x(%rip)` and
    emits R_X86_64_PC32 x - 4 (both right; the instructions differ).  GNU's entries in the
    form linkharness writes."""
    out: Counter[tuple[Any, ...]] = Counter()
    for (sec, name, off, rtype, target), n in emitted.items():
        if rtype == 11 and isinstance(target, tuple) and target[1:] == (0,):
            rtype, target = 2, (target[0], -4)
        out[(sec, name, off, rtype, target)] += n
    return out


def _native(exe: Path) -> str:
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("arch,mode", CASES, ids=[f"{a}-{m}" for a, m in CASES])
def test_emitted_relocations_are_gnu_lds(arch: str, mode: str, tmp_path: Path,
                                         linkharness_shim: str) -> None:
    objs, outputs = _build(tmp_path, arch, mode, linkharness_shim)
    ours = _defined_in(objs)
    gnu, lh = _emitted(outputs["gnu"], ours), _emitted(outputs["lh"], ours)
    if mode == "fpic":
        gnu = _as_lea(gnu)
    assert sum(gnu.values()) >= 8  # the comparison covers the program's relocations
    assert lh == gnu
    assert _native(outputs["gnu"]) == _native(outputs["lh"]) == EXPECTED
    # GNU ld's output too: the ELF-EMITTED-RELOC rules hold for the reference
    assert check(str(outputs["lh"])) == [] and check(str(outputs["gnu"])) == []
    assert check_fields(str(outputs["lh"]), list(map(str, objs))) == []
    if mode != "static":  # (the emulator runs dynamically linked programs)
        emulated = run(str(outputs["lh"]))
        assert emulated.faults == [] and emulated.stdout.decode() == EXPECTED


def test_objdump_shows_the_emitted_relocation_at_the_call(tmp_path: Path,
                                                          linkharness_shim: str) -> None:
    _, outputs = _build(tmp_path, "x86_64", "nopie", linkharness_shim)
    listing = subprocess.run(["llvm-objdump-14", "-dr", "--no-show-raw-insn",
                              "--disassemble-symbols=main", str(outputs["lh"])],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    calls = [n for n, line in enumerate(listing) if "call" in line and "<scale>" in line]
    assert len(calls) == 1, listing
    # the relocation line follows its instruction and names the field right after the opcode
    call_addr = int(listing[calls[0]].split(":")[0], 16)
    reloc = listing[calls[0] + 1].split()
    assert reloc[1:] == ["R_X86_64_PLT32", "scale-0x4"], listing[calls[0]:calls[0] + 2]
    assert int(reloc[0].rstrip(":"), 16) == call_addr + 1


def test_references_to_collected_sections_are_type_zero(tmp_path: Path,
                                                         linkharness_shim: str) -> None:
    """With --gc-sections, `.debug_info`'s references to the functions collected: GNU ld
    writes each as R_X86_64_NONE against symbol 0, addend 0; so must linkharness."""
    _, outputs = _build(tmp_path, "x86_64", "nopie", linkharness_shim,
                        ("-g", "-ffunction-sections"), ("-Wl,--gc-sections",))
    counts = {}
    for linker, exe in outputs.items():
        with open(exe, "rb") as f:
            sec = ELFFile(f).get_section_by_name(".rela.debug_info")
            assert isinstance(sec, RelocationSection), linker
            none = [r for r in sec.iter_relocations() if r["r_info_type"] == 0]
            assert all(r["r_info_sym"] == 0 and r["r_addend"] == 0 for r in none)
            counts[linker] = len(none)
    assert counts["lh"] == counts["gnu"] > 0
    assert _native(outputs["lh"]) == EXPECTED
