"""i386 ELF: archives, undefined weak references, canonical PLT entries and IFUNC in
dynamic links, as self-checking programs (fuzz.features does the same on x86-64).

A case has two or three objects; the ones after the first are plain inputs, one archive, a
thin archive, or one archive per object in a GNU ld script's GROUP (each member needs the one
before it: a chain of calls `lh_objk`, bit 64).  When archived, the archive also holds a decoy
member defining the weakly referenced `lh_weak0`, which nothing else pulls: a weak reference
must not pull it.  Checks, each ORing its bit into `lh_mask`:

- undefined weak `lh_weakk` read as 0 through `movl $w` (R_386_32), `.long w` and the GOT
  (`w@GOT(%ecx)` after a pc thunk: R_386_GOTPC, R_386_GOT32X) (bit 1);
- `lr_fn` of libreach32.so (fuzz.copy_canonical's library, built -m32): its address taken
  with `movl $lr_fn`, `.long lr_fn` and through the GOT equals the library's own view,
  `lr_fn_addr()`, and calling through it returns 42 (bits 2, 4);
- an IFUNC defined in one object, called (R_386_PC32 / PLT32) and its address taken the same
  three ways: every address equal, every call returning its value (bits 8, 16).

Every address taken through the GOT also leaves a GOT-relative field in a non-allocated
section of its object (`.lh_gotoff`: `.long lh_hereK+N@GOTOFF`, R_386_GOTOFF), as gcc -m32
-fPIC -g leaves call-site values in `.debug_info`; no check reads it at run time, the field
oracle recomputes it (S + A - GOT).

The exit status is 0, or 1 + the number of the first failed check; the mask also goes to
libtrace1's `lt1_f1_a1`.  GNU ld's output of the same inputs must exit 0 (the generator
checked); linkharness's must pass oracle.check, the field oracle, and exit 0 lazily and with
LD_BIND_NOW.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from linker import link
from oracle.native import run_native

from .copy_canonical import LIB_SOURCE
from .gnu_as import gnu_assemble
from .pipeline_i386 import DYNAMIC_LINKER_I386

PACKAGINGS = ("objects", "archive", "thin", "script_group")
ADDRESS_FORMS = ("abs", "data", "got")
BITS = {"weak": 1, "canonical_address": 2, "canonical_call": 4, "ifunc_address": 8,
        "ifunc_value": 16, "chain": 64}


@dataclass(frozen=True)
class I386FeatureCase:
    objects: int
    packaging: str
    weak: tuple[tuple[int, int, str], ...]  # (weak symbol number, from object, form)
    canonical: tuple[tuple[int, str], ...]  # (from object, form) of lr_fn's address
    ifunc_owner: int | None
    ifunc_uses: tuple[tuple[int, str], ...]  # (from object, "call" or an address form)


@st.composite
def i386_feature_cases(draw: st.DrawFn) -> I386FeatureCase:
    n = draw(st.integers(2, 3))
    obj = st.integers(0, n - 1)
    weak = tuple(draw(st.lists(st.tuples(st.integers(0, 1), obj, st.sampled_from(ADDRESS_FORMS)),
                               max_size=4)))
    canonical = tuple(draw(st.lists(st.tuples(obj, st.sampled_from(ADDRESS_FORMS)),
                                    max_size=3)))
    owner = draw(st.none() | obj)
    uses = () if owner is None else tuple(draw(st.lists(
        st.tuples(obj, st.sampled_from(("call", *ADDRESS_FORMS))), min_size=1, max_size=4)))
    return I386FeatureCase(n, draw(st.sampled_from(PACKAGINGS)), weak, canonical, owner, uses)


SAMPLES = (
    I386FeatureCase(3, "archive", ((0, 0, "abs"), (0, 1, "data"), (1, 2, "got")),
                    ((0, "abs"), (1, "data"), (2, "got")), 1,
                    ((0, "call"), (0, "abs"), (2, "got"), (1, "data"), (2, "call"))),
    I386FeatureCase(3, "script_group", ((0, 2, "got"),), ((1, "abs"),), 2,
                    ((1, "got"), (0, "call"))),
    I386FeatureCase(2, "thin", ((0, 1, "abs"), (1, 0, "data")), ((0, "got"), (0, "data")),
                    0, ((1, "abs"), (0, "data"), (1, "call"))),
    I386FeatureCase(2, "objects", ((0, 0, "got"),), ((1, "abs"),), None, ()),
)


def describe(case: I386FeatureCase) -> set[str]:
    labels = {f"i386:inputs:{case.packaging}"}
    if case.packaging != "objects":
        labels.add("i386:archive:member_pulled")
        if any(k == 0 for k, _, _ in case.weak):
            labels.add("i386:archive:weak_reference_does_not_pull")
    labels |= {f"i386:weak_undefined:{form}" for _, _, form in case.weak}
    labels |= {f"i386:canonical:{form}" for _, form in case.canonical}
    if any(form == "got" for *_, form in (*case.weak, *case.canonical, *case.ifunc_uses)):
        labels.add("i386:gotoff:non_alloc")
    if case.ifunc_owner is not None:
        labels.add("i386:ifunc:dynamic")
        labels |= {f"i386:ifunc:{form}" for _, form in case.ifunc_uses}
    return labels


class _Obj:
    def __init__(self, number: int) -> None:
        self.number = number
        self.code: list[str] = []
        self.text: list[str] = []
        self.data: list[str] = []
        self.gotoff: list[str] = []  # R_386_GOTOFF fields of the non-allocated .lh_gotoff
        self.n = 0

    def label(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.number}_{self.n}"

    def fail_unless(self, compare: list[str], jump_if_ok: str, bit: str) -> None:
        ok = self.label(".Lok")
        self.code += [*compare, f"{jump_if_ok} {ok}", f"orl ${BITS[bit]}, lh_mask", f"{ok}:"]

    def address(self, symbol: str, form: str) -> None:
        """eax = the address of `symbol`, taken in `form`."""
        if form == "abs":
            self.code.append(f"movl ${symbol}, %eax")
        elif form == "data":
            ptr = self.label("lh_ptr")
            self.data += [".balign 4", f"{ptr}:", f".long {symbol}"]
            self.code.append(f"movl {ptr}, %eax")
        else:
            here = self.label(".Lpc")
            self.code += [f"call {here}", f"{here}:", "popl %ecx",
                          f"addl $_GLOBAL_OFFSET_TABLE_+[.-{here}], %ecx",
                          f"movl {symbol}@GOT(%ecx), %eax"]
            self.gotoff.append(f".long lh_here{self.number}+{4 * len(self.gotoff)}@GOTOFF")


def _call_through_eax(o: _Obj, argument: int) -> None:
    """eax = (*eax)(argument), the stack kept 16-aligned at the call."""
    o.code += ["subl $12, %esp", f"pushl ${argument}", "call *%eax", "addl $16, %esp"]


def object_texts(case: I386FeatureCase) -> list[str]:
    objs = [_Obj(k) for k in range(case.objects)]
    for k, user, form in case.weak:
        o = objs[user]
        o.data.append(f".weak lh_weak{k}")
        o.address(f"lh_weak{k}", form)
        o.fail_unless(["testl %eax, %eax"], "jz", "weak")
    for user, form in case.canonical:
        o = objs[user]
        o.address("lr_fn", form)
        o.code += ["movl %eax, %esi", "subl $16, %esp", "call lr_fn_addr", "addl $16, %esp"]
        o.fail_unless(["cmpl %esi, %eax"], "je", "canonical_address")
        o.code.append("movl %esi, %eax")
        _call_through_eax(o, 41)
        o.fail_unless(["cmpl $42, %eax"], "je", "canonical_call")
    if case.ifunc_owner is not None:
        objs[case.ifunc_owner].text += [
            ".globl lh_ifunc", ".type lh_ifunc, @gnu_indirect_function", "lh_ifunc:",
            "call .Lifpc", ".Lifpc:", "popl %eax", "addl $lh_ifimpl-.Lifpc, %eax", "ret",
            "lh_ifimpl:", "movl 4(%esp), %eax", "addl $0x1000, %eax", "ret"]
        objs[0].data += [".globl lh_ifaddr", ".balign 4", "lh_ifaddr:", ".long 0"]
        for user, form in case.ifunc_uses:
            o = objs[user]
            if form == "call":
                o.code += ["subl $12, %esp", "pushl $7", "call lh_ifunc", "addl $16, %esp"]
            else:
                o.address("lh_ifunc", form)
                first = o.label(".Lfirst")
                o.code += ["cmpl $0, lh_ifaddr", f"jne {first}", "movl %eax, lh_ifaddr",
                           f"{first}:"]
                o.fail_unless(["cmpl lh_ifaddr, %eax"], "je", "ifunc_address")
                _call_through_eax(o, 7)
            o.fail_unless(["cmpl $0x1007, %eax"], "je", "ifunc_value")
    last = case.objects - 1
    objs[0].fail_unless([f"call lh_obj{last}", f"cmpl ${last * (last + 1) // 2}, %eax"], "je",
                        "chain")
    texts = []
    for o in objs:
        lines = [".text"]
        if o.number == 0:
            lines += [".globl _start", "_start:", "andl $-16, %esp", *o.code,
                      "subl $12, %esp", "pushl lh_mask", "call lt1_f1_a1", "addl $16, %esp",
                      "movl lh_mask, %ecx", "xorl %ebx, %ebx", "testl %ecx, %ecx",
                      "jz .Lexit", "bsfl %ecx, %ebx", "incl %ebx", ".Lexit:",
                      "movl $252, %eax", "int $0x80"]  # exit_group
            o.data += [".globl lh_mask", ".balign 4", "lh_mask:", ".long 0"]
        else:
            # entered with esp = 12 mod 16; three pushes keep calls 16-aligned
            chain = [f"call lh_obj{o.number - 1}", "movl %eax, %ebx"] if o.number > 1 else []
            lines += [f".globl lh_obj{o.number}", f"lh_obj{o.number}:", "pushl %ebx",
                      "pushl %esi", "pushl %edi", *o.code, "xorl %ebx, %ebx", *chain,
                      f"leal {o.number}(%ebx), %eax", "popl %edi", "popl %esi", "popl %ebx",
                      "ret"]
        if o.gotoff:
            # (a marker word first: the oracle places each input by its unrelocated bytes)
            o.data += [".balign 4", f"lh_here{o.number}:", ".long 0, 0, 0, 0"]
            o.text += ['.section .lh_gotoff,"",@progbits', f".long 0x4c480000+{o.number}",
                       *o.gotoff, ".text"]
        lines += [*o.text, ".data", *o.data, '.section .note.GNU-stack,"",@progbits', ""]
        texts.append("\n".join(lines))
    return texts


DECOY = """.text
.globl lh_weak0
lh_weak0: ret
.section .note.GNU-stack,"",@progbits
"""


def _ar(flags: str, archive: Path, members: list[Path]) -> str:
    archive.unlink(missing_ok=True)
    subprocess.run(["ar", flags, archive.name,
                    *(os.path.relpath(m, archive.parent) for m in members)],
                   check=True, capture_output=True, cwd=archive.parent)
    return str(archive)


def write_inputs(case: I386FeatureCase, directory: Path) -> tuple[list[Path], list[str]]:
    """(the objects a correct link takes, the link's inputs as the case packages them)."""
    directory.mkdir(parents=True, exist_ok=True)
    objects = [gnu_assemble(t, directory / f"o{n}.s", m32=True)
               for n, t in enumerate(object_texts(case))]
    rest = objects[1:]
    if case.packaging == "objects":
        return objects, [str(o) for o in objects]
    decoy = gnu_assemble(DECOY, directory / "decoy.s", m32=True)
    if case.packaging in ("archive", "thin"):
        flags = "rcs" if case.packaging == "archive" else "rcsT"
        return objects, [str(objects[0]), _ar(flags, directory / "libfeat.a", [*rest, decoy])]
    archives = [_ar("rcs", directory / f"libfeat{n}.a", [o, decoy] if n == 1 else [o])
                for n, o in enumerate(rest, 1)]
    script = directory / "group.ld"
    script.write_text(f"GROUP ( {' '.join(archives)} )\n")
    return objects, [str(objects[0]), str(script)]


def build_libreach32(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    src = directory / "libreach.c"
    src.write_text(LIB_SOURCE)
    lib = directory / "libreach.so"
    subprocess.run(["gcc", "-m32", "-O1", "-fPIC", "-shared", "-Wl,-soname,libreach.so",
                    "-o", str(lib), str(src)], check=True, capture_output=True)
    return lib


def libraries(libtrace_dir_i386: Path, libreach32: Path) -> list[str]:
    return [str(libtrace_dir_i386 / "libtrace1.so"), str(libreach32)]


def run_status(exe: Path, libs: list[str], bind_now: bool) -> int:
    env = {"PATH": os.environ.get("PATH", ""),
           "LD_LIBRARY_PATH": ":".join(dict.fromkeys(str(Path(p).parent) for p in libs))}
    if bind_now:
        env["LD_BIND_NOW"] = "1"
    return run_native(str(exe), env=env, timeout=20).exit_code


def link_i386(inputs: list[str], libs: list[str], output: Path) -> None:
    link([*inputs, *libs], output, target="elf32-i386", entry="_start",
         dynamic_linker=DYNAMIC_LINKER_I386)
