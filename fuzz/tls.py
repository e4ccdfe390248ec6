"""Thread-local variables (x86-64 ELF, local exec and initial exec): self-checking programs.

A case defines one to three TLS variables across two objects, each initialised
(`.tdata`) or zero (`.tbss`), of 1..4 words and alignment 4..64, and reaches them in drawn
forms:

- `le`: `movl %fs:v@tpoff+off, %eax` (R_X86_64_TPOFF32),
- `le_base`: `movq %fs:0, %rax; movl v@tpoff+off(%rax), %eax` (TPOFF32 as a displacement),
- `ie`: `movq v@gottpoff(%rip), %rax; movl %fs:off(%rax), %eax` (R_X86_64_GOTTPOFF, which
  an executable's linker may relax to local exec or keep as a GOT slot of v - tp);
- `gd`: the psABI's general dynamic sequence (`data16 leaq v@tlsgd(%rip), %rdi; data16
  data16 rex64 call __tls_get_addr@PLT`, R_X86_64_TLSGD + PLT32), then `off(%rax)`;
- `ld`: local dynamic (`leaq v@tlsld(%rip), %rdi; call __tls_get_addr@PLT`, R_X86_64_TLSLD),
  then `v@dtpoff+off(%rax)` (R_X86_64_DTPOFF32).  An executable's linker relaxes both to
  local exec; ld.so's `__tls_get_addr` (the links name ld-linux-x86-64.so.2) answers them
  if it does not.

The program loads every word it knows (the initial value, or 0), stores a new value through
one form and loads it back through another, and tests each variable's alignment; its exit
status is the mask of the checks that failed (1: a load, 2: a store read back through
another form, 4: an alignment); the model says 0.  The mask is also passed to libtrace1's
`lt1_f1_a1`, so it is in the trace, and that import keeps the executable dynamic (linkharness
links a program that imports nothing statically, and without libc nothing but ld.so sets up
the thread pointer and the static TLS block).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from .gnu_as import gnu_assemble

FORMS = ("le", "le_base", "ie", "gd", "ld")
TRACE_FUNCTION = "lt1_f1_a1"


@dataclass(frozen=True)
class TlsVar:
    name: str
    owner: int  # object 0 or 1
    words: tuple[int, ...]  # initial values; all 0: .tbss
    align: int

    @property
    def zero(self) -> bool:
        return not any(self.words)


@dataclass(frozen=True)
class TlsAccess:
    var: int
    word: int
    load_form: str
    store_form: str
    from_object: int


@dataclass(frozen=True)
class TlsCase:
    variables: tuple[TlsVar, ...]
    accesses: tuple[TlsAccess, ...]


@st.composite
def cases(draw: st.DrawFn) -> TlsCase:
    variables = []
    for k in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 4))
        words = tuple(draw(st.integers(1, 0xFFFFFFFF)) for _ in range(n)) if draw(
            st.booleans()) else (0,) * n
        variables.append(TlsVar(f"lh_t{k}", draw(st.integers(0, 1)), words,
                                draw(st.sampled_from((4, 8, 16, 64)))))
    accesses = tuple(
        TlsAccess(v, draw(st.integers(0, len(variables[v].words) - 1)),
                  draw(st.sampled_from(FORMS)), draw(st.sampled_from(FORMS)),
                  draw(st.integers(0, 1)))
        for v in draw(st.lists(st.integers(0, len(variables) - 1), min_size=1, max_size=5)))
    return TlsCase(tuple(variables), accesses)


SAMPLE = TlsCase(
    (TlsVar("lh_t0", 0, (0x11111111, 0x22222222), 8),
     TlsVar("lh_t1", 1, (0, 0, 0), 64),
     TlsVar("lh_t2", 1, (0x33333333,), 16)),
    (TlsAccess(0, 1, "le", "ie", 1), TlsAccess(1, 2, "ie", "le_base", 0),
     TlsAccess(2, 0, "le_base", "le", 0), TlsAccess(0, 0, "ie", "ie", 0),
     TlsAccess(1, 1, "gd", "ld", 1), TlsAccess(2, 0, "ld", "gd", 0)),
)


def describe(case: TlsCase) -> set[str]:
    labels = {f"tls:{a.load_form}" for a in case.accesses}
    labels |= {f"tls:{a.store_form}" for a in case.accesses}
    labels |= {"tls:tbss" if v.zero else "tls:tdata" for v in case.variables}
    if any(a.from_object != case.variables[a.var].owner for a in case.accesses):
        labels.add("tls:other_object")
    return labels


TLS_GET_ADDR_LIBRARY = "/lib64/ld-linux-x86-64.so.2"


def _dynamic_address(name: str, form: str) -> list[str]:
    """rax = the address of v's TLS block (gd) or of the module's block (ld)."""
    if form == "gd":
        return [".byte 0x66", f"leaq {name}@tlsgd(%rip), %rdi", ".value 0x6666", "rex64",
                "call __tls_get_addr@PLT"]
    return [f"leaq {name}@tlsld(%rip), %rdi", "call __tls_get_addr@PLT"]


def _dynamic_place(name: str, offset: int, form: str) -> str:
    return f"{offset}(%rax)" if form == "gd" else f"{name}@dtpoff+{offset}(%rax)"


def _load(name: str, offset: int, form: str) -> list[str]:
    if form in ("gd", "ld"):
        return [*_dynamic_address(name, form), f"movl {_dynamic_place(name, offset, form)}, %eax"]
    if form == "le":
        return [f"movl %fs:{name}@tpoff+{offset}, %eax"]
    if form == "le_base":
        return ["movq %fs:0, %rax", f"movl {name}@tpoff+{offset}(%rax), %eax"]
    return [f"movq {name}@gottpoff(%rip), %rax", f"movl %fs:{offset}(%rax), %eax"]


def _store(name: str, offset: int, form: str) -> list[str]:
    if form in ("gd", "ld"):
        return [*_dynamic_address(name, form), f"movl %ebx, {_dynamic_place(name, offset, form)}"]
    if form == "le":
        return [f"movl %ebx, %fs:{name}@tpoff+{offset}"]
    if form == "le_base":
        return ["movq %fs:0, %rax", f"movl %ebx, {name}@tpoff+{offset}(%rax)"]
    return [f"movq {name}@gottpoff(%rip), %rax", f"movl %ebx, %fs:{offset}(%rax)"]


def _check(bit: int, label: int) -> list[str]:
    return [f"je {label}f", f"orl ${bit}, %r12d", f"{label}:"]


def object_texts(case: TlsCase) -> list[str]:
    """The assembly of objects 0 (with _start) and 1 (with lh_tls1, which _start calls)."""
    bodies: list[list[str]] = [[], []]
    current = {i: list(v.words) for i, v in enumerate(case.variables)}
    # _start calls lh_tls1 (object 1's accesses) first: expected values follow that order
    ordered = sorted(enumerate(case.accesses), key=lambda na: na[1].from_object != 1)
    for n, a in ordered:
        v = case.variables[a.var]
        off = 4 * a.word
        body = bodies[a.from_object]
        body += [*_load(v.name, off, a.load_form), f"cmpl ${current[a.var][a.word]:#x}, %eax",
                 *_check(1, 1)]
        value = (0x9E3779B9 * (n + 1)) & 0xFFFFFFFF
        current[a.var][a.word] = value
        body += [f"movl ${value:#x}, %ebx", *_store(v.name, off, a.store_form),
                 *_load(v.name, off, a.load_form), "cmpl %ebx, %eax", *_check(2, 2)]
    for v in case.variables:
        bodies[0] += ["movq %fs:0, %rax", f"leaq {v.name}@tpoff(%rax), %rax",
                      f"testq ${v.align - 1}, %rax", "jz 3f", "orl $4, %r12d", "3:"]
    texts = []
    for owner in (0, 1):
        lines = [".text"]
        if owner == 0:
            lines += [".globl _start", "_start:", "andq $-16, %rsp", "xorl %r12d, %r12d",
                      "call lh_tls1", *bodies[0], "movl %r12d, %edi", "call lt1_f1_a1@PLT",
                      "movl %r12d, %edi", "movl $231, %eax", "syscall"]
        else:
            # 16-aligned for a __tls_get_addr call left unrelaxed
            lines += [".globl lh_tls1", "lh_tls1:", "subq $8, %rsp", *bodies[1],
                      "addq $8, %rsp", "ret"]
        for v in case.variables:
            if v.owner != owner:
                continue  # a reference: the assembler types it STT_TLS from @tpoff/@gottpoff
            lines.append(f".globl {v.name}")
            section = '.tbss,"awT",@nobits' if v.zero else '.tdata,"awT",@progbits'
            lines += [f".section {section}", f".balign {v.align}",
                      f".type {v.name}, @tls_object", f".size {v.name}, {4 * len(v.words)}",
                      f"{v.name}:"]
            lines += [f".zero {4 * len(v.words)}"] if v.zero else [
                f".long {w:#x}" for w in v.words]
        lines += ['.section .note.GNU-stack,"",@progbits', ""]
        texts.append("\n".join(lines))
    return texts


def write_objects(case: TlsCase, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [gnu_assemble(text, directory / f"t{n}.s")
            for n, text in enumerate(object_texts(case))]
