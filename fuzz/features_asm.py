"""The assembly of a fuzz.features case: one GNU `as` source per object.

Object 0 holds `_start`, the failure mask `lh_mask` and the constructors' log; every other
object k defines `lh_objk`, which runs object k's checks and calls `lh_obj(k-1)` (so each
object pulls the one before it out of an archive) and returns the sum 1 + ... + k.  A check
that fails ORs its bit (fuzz.features.BITS) into `lh_mask`.

Run with any argument (argc >= 2), the program ignores the IFUNC address-equality check:
GNU ld 2.40, the generator's reference, gives one IFUNC two addresses in a static link when a
GOT load of it comes before a `lea` (the slot holds the resolved function, the `lea` the
.iplt entry; measured), and its run is told to forgive that alone.
"""

from __future__ import annotations

from .features import BITS, SHADOWED, FeatureCase, hidden_name

# A static program applies its own IRELATIVE relocations, as a libc's static start does: the
# relocation type is the psABI's R_X86_64_IRELATIVE, and an Elf64_Rela is 24 bytes.
R_X86_64_IRELATIVE = 37
ELF64_RELA_SIZE = 24
SYS_CLOCK_GETTIME, CLOCK_MONOTONIC, EFAULT = 228, 1, 14
SHADOW_VALUE, RELRO_VALUE = 0x5AD0, 0x6060


class _Object:
    """The lines of one object's source: its code (run by `_start` or `lh_objk`), its own
    text (functions), and its data."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.code: list[str] = []
        self.text: list[str] = []
        self.data: list[str] = []
        self.labels = 0

    def fail_unless(self, compare: list[str], jump_if_ok: str, bit: str) -> None:
        self.labels += 1
        ok = f".Lok{self.labels}"
        self.code += [*compare, f"{jump_if_ok} {ok}", f"orl ${BITS[bit]}, lh_mask(%rip)",
                      f"{ok}:"]

    def unique(self, stem: str) -> str:
        self.labels += 1
        return f"{stem}{self.number}_{self.labels}"


def _ifuncs(case: FeatureCase, objs: list[_Object]) -> None:
    for k, f in enumerate(case.ifuncs):
        owner = objs[f.owner]
        owner.text += [f".globl lh_ifunc{k}", f".type lh_ifunc{k}, @gnu_indirect_function",
                       f"lh_ifunc{k}:", f"leaq lh_ifimpl{k}(%rip), %rax", "ret",
                       f"lh_ifimpl{k}:", f"movl ${f.value:#x}, %eax", "ret"]
        objs[0].data += [".balign 8", f".globl lh_ifaddr{k}", f"lh_ifaddr{k}:", ".quad 0"]
        for user, form in f.uses:
            o = objs[user]
            if form == "call":
                o.code.append(f"call lh_ifunc{k}")
            elif form == "got_call":
                o.code.append(f"call *lh_ifunc{k}@GOTPCREL(%rip)")
            else:
                if form == "lea":
                    o.code.append(f"leaq lh_ifunc{k}(%rip), %rax")
                elif form == "got_load":
                    o.code.append(f"movq lh_ifunc{k}@GOTPCREL(%rip), %rax")
                else:  # data
                    ptr = o.unique("lh_ifptr")
                    o.data += [".balign 8", f"{ptr}:", f".quad lh_ifunc{k}"]
                    o.code.append(f"movq {ptr}(%rip), %rax")
                # the first address taken is kept; every other one must equal it
                first = o.unique(".Lfirst")
                o.code += [f"cmpq $0, lh_ifaddr{k}(%rip)", f"jne {first}",
                           f"movq %rax, lh_ifaddr{k}(%rip)", f"{first}:"]
                o.fail_unless([f"cmpq lh_ifaddr{k}(%rip), %rax"], "je", "ifunc_address")
                o.code.append("call *%rax")
            o.fail_unless([f"cmpl ${f.value:#x}, %eax"], "je", "ifunc_value")


def _inits(case: FeatureCase, objs: list[_Object]) -> None:
    for s in case.inits:
        o = objs[s.owner]
        kind = "@init_array" if s.kind == "init_array" else "@progbits"
        o.data += [f'.section {s.name},"aw",{kind}', ".balign 8",
                   *(f".quad lh_ctor{i}" for i in s.ids), ".data"]
        for i in s.ids:
            o.text += [f"lh_ctor{i}:", "movl lh_count(%rip), %eax", "leaq lh_order(%rip), %rcx",
                       f"movb ${i}, (%rcx,%rax)", "incl lh_count(%rip)", "ret"]
    if not case.inits:
        return
    order = case.init_order()
    o = objs[0]
    o.code += ["leaq __init_array_start(%rip), %rbx", "leaq __init_array_end(%rip), %rbp",
               ".Linit_loop:", "cmpq %rbp, %rbx", "jae .Linit_done", "call *(%rbx)",
               "addq $8, %rbx", "jmp .Linit_loop", ".Linit_done:"]
    o.fail_unless([f"cmpl ${len(order)}, lh_count(%rip)"], "je", "init_count")
    o.data += ["lh_order_expected:", f".byte {', '.join(map(str, order))}"]
    o.fail_unless(["leaq lh_order(%rip), %rdi", "leaq lh_order_expected(%rip), %rsi",
                   f"movl ${len(order)}, %ecx", "repe cmpsb"], "je", "init_order")


def _merge(case: FeatureCase, objs: list[_Object]) -> None:
    def name(k: int, middle: bool = False) -> str:
        stem = "mmid" if middle else "mstr"
        return f"lh_{stem}{k}" if case.strings[k].named else f".L{stem}{k}"

    for k, s in enumerate(case.strings):
        o = objs[s.owner]
        o.data += ['.section .rodata.str1.1,"aMS",@progbits,1']
        if s.named:
            o.data += [f".globl {name(k)}", f".type {name(k)}, @object"]
        o.data.append(f"{name(k)}:")
        if s.middle:  # one string, with a second label inside it
            if s.named:
                o.data.append(f".globl {name(k, True)}")
            o.data += [f'.ascii "{s.text[:s.middle]}"', f"{name(k, True)}:"]
        o.data += [f'.asciz "{s.text[s.middle:]}"', ".data"]
    for u in case.string_uses:
        s = case.strings[u.string]
        o = objs[u.from_object if s.named else s.owner]  # a local label is its object's
        target = (f"{name(u.string, True)}+{u.offset - s.middle}" if u.from_middle
                  else f"{name(u.string)}+{u.offset}")
        if u.form == "pc_rel":
            o.code.append(f"leaq {target}(%rip), %rdi")
        elif u.form == "abs32":
            o.code.append(f"movl ${target}, %edi")
        else:
            ptr = o.unique("lh_mptr")
            o.data += [".balign 8", f"{ptr}:", f".quad {target}"]
            o.code.append(f"movq {ptr}(%rip), %rdi")
        expected = o.unique("lh_mexp")
        o.data += [f"{expected}:", f'.asciz "{s.text[u.offset:]}"']
        o.fail_unless([f"leaq {expected}(%rip), %rsi", f"movl ${len(s.text) - u.offset + 1}, %ecx",
                       "repe cmpsb"], "je", "merge_string")
    for k, (owner, value, user) in enumerate(case.constants):
        objs[owner].data += ['.section .rodata.cst8,"aM",@progbits,8', ".balign 8",
                             f".globl lh_cst{k}", f"lh_cst{k}:", f".quad {value:#x}", ".data"]
        objs[user].fail_unless([f"movq lh_cst{k}(%rip), %rax", f"movabsq ${value:#x}, %rcx",
                                "cmpq %rcx, %rax"], "je", "merge_constant")


def _start_stop(case: FeatureCase, objs: list[_Object]) -> None:
    if not case.set_pieces:
        return
    for owner, quads in case.set_pieces:
        objs[owner].data += ['.section lh_set,"aw",@progbits', ".balign 8",
                             *(f".quad {q:#x}" for q in quads), ".data"]
    count = sum(len(q) for _, q in case.set_pieces)
    total = sum(sum(q) for _, q in case.set_pieces) % 2**64
    o = objs[0]
    o.code += ["leaq __start_lh_set(%rip), %rsi", "leaq __stop_lh_set(%rip), %rdi"]
    o.fail_unless(["movq %rdi, %rax", "subq %rsi, %rax", f"cmpq ${8 * count}, %rax"], "je",
                  "set_size")
    o.code += ["xorl %edx, %edx", ".Lset_loop:", "cmpq %rdi, %rsi", "jae .Lset_done",
               "addq (%rsi), %rdx", "addq $8, %rsi", "jmp .Lset_loop", ".Lset_done:"]
    o.fail_unless([f"movabsq ${total:#x}, %rax", "cmpq %rax, %rdx"], "je", "set_sum")


def _hidden(case: FeatureCase, objs: list[_Object]) -> None:
    for k, h in enumerate(case.hidden):
        name = hidden_name(k, h)
        owner = objs[h.owner]
        if h.function:
            owner.text += [f".globl {name}", f".hidden {name}", f".type {name}, @function",
                           f"{name}:", f"movl ${h.value:#x}, %eax", "ret"]
        else:
            owner.data += [".balign 4", f".globl {name}", f".hidden {name}",
                           f".type {name}, @object", f".size {name}, 4", f"{name}:",
                           f".long {h.value:#x}"]
        for user, form in h.uses:
            o = objs[user]
            if h.function:
                o.code.append({"direct": f"call {name}", "plt": f"call {name}@PLT",
                               "got": f"call *{name}@GOTPCREL(%rip)"}[form])
            elif form == "got":
                o.code += [f"movq {name}@GOTPCREL(%rip), %rax", "movl (%rax), %eax"]
            else:
                o.code.append(f"movl {name}(%rip), %eax")
            o.fail_unless([f"cmpl ${h.value:#x}, %eax"], "je", "hidden_value")
    if case.shadow:
        o = objs[0]
        o.text += [f".globl {SHADOWED}", f".hidden {SHADOWED}", f".type {SHADOWED}, @function",
                   f"{SHADOWED}:", f"movl ${SHADOW_VALUE:#x}, %eax", "ret"]
        o.code.append(f"call {SHADOWED}@PLT")
        o.fail_unless([f"cmpl ${SHADOW_VALUE:#x}, %eax"], "je", "hidden_shadow")


PT_GNU_EH_FRAME = 0x6474E550
# version 1, eh_frame_ptr pcrel|sdata4, fde_count udata4, table datarel|sdata4 (LSB)
EH_FRAME_HDR_ENCODINGS = 0x3B031B01
ELF64_PHDR_SIZE = 56


def _unwind(case: FeatureCase, objs: list[_Object]) -> None:
    for k, owner in enumerate(case.unwind):
        objs[owner].text += [f".globl lh_cfi{k}", f".type lh_cfi{k}, @function", f"lh_cfi{k}:",
                             ".cfi_startproc", "pushq %rbp", ".cfi_def_cfa_offset 16",
                             "popq %rbp", ".cfi_def_cfa_offset 8", "ret", ".cfi_endproc"]
    if not (case.unwind and case.eh_frame_hdr):
        return
    o = objs[0]
    # rdi = PT_GNU_EH_FRAME's p_vaddr (an ET_EXEC: the address), found in our own headers
    o.code += ["leaq __ehdr_start(%rip), %rsi", "movq 32(%rsi), %rax", "addq %rsi, %rax",
               "movzwl 56(%rsi), %ecx", "xorl %edi, %edi", ".Lph_loop:", "testl %ecx, %ecx",
               "jz .Lph_done", f"cmpl ${PT_GNU_EH_FRAME:#x}, (%rax)", "jne .Lph_next",
               "movq 16(%rax), %rdi", "jmp .Lph_done", ".Lph_next:",
               f"addq ${ELF64_PHDR_SIZE}, %rax", "decl %ecx", "jmp .Lph_loop", ".Lph_done:"]
    o.fail_unless(["testq %rdi, %rdi"], "jnz", "eh_frame_hdr")
    o.code += ["testq %rdi, %rdi", "jz .Leh_done"]
    o.fail_unless([f"cmpl ${EH_FRAME_HDR_ENCODINGS:#x}, (%rdi)"], "je", "eh_frame_hdr")
    o.fail_unless([f"cmpl ${len(case.unwind)}, 8(%rdi)"], "je", "eh_frame_hdr")
    o.code += ["movl 8(%rdi), %ecx", "leaq 12(%rdi), %rsi", ".Lsort_loop:", "cmpl $1, %ecx",
               "jbe .Lsort_done"]
    o.fail_unless(["movl 8(%rsi), %eax", "cmpl (%rsi), %eax"], "jg", "eh_frame_hdr")
    o.code += ["addq $8, %rsi", "decl %ecx", "jmp .Lsort_loop", ".Lsort_done:"]
    for k in range(len(case.unwind)):
        found, missing, done = o.unique(".Lfound"), o.unique(".Lmissing"), o.unique(".Ldone")
        loop = o.unique(".Lfind")
        o.code += [f"leaq lh_cfi{k}(%rip), %r8", "movq %r8, %rdx", "subq %rdi, %rdx",
                   "leaq 12(%rdi), %rsi", "movl 8(%rdi), %ecx", f"{loop}:", "testl %ecx, %ecx",
                   f"jz {missing}", "cmpl %edx, (%rsi)", f"je {found}", "addq $8, %rsi",
                   "decl %ecx", f"jmp {loop}", f"{missing}:",
                   f"orl ${BITS['eh_frame_fde']}, lh_mask(%rip)", f"jmp {done}", f"{found}:",
                   "movslq 4(%rsi), %rax", "addq %rdi, %rax",  # the FDE
                   "movslq 8(%rax), %rcx", "leaq 8(%rax,%rcx), %rcx"]  # its pc_begin
        o.fail_unless(["cmpq %r8, %rcx"], "je", "eh_frame_fde")
        o.code.append(f"{done}:")
    o.code.append(".Leh_done:")


def _relro_checks(o: _Object) -> None:
    """lh_ro and _DYNAMIC read-only after ld.so: the kernel's write of a timespec faults."""
    o.data += ['.section .data.rel.ro,"aw",@progbits', ".balign 16", "lh_ro:",
               ".quad lh_ro_target, 0", ".data"]
    o.text += ["lh_ro_target:", f"movl ${RELRO_VALUE:#x}, %eax", "ret"]
    o.code += ["movq lh_ro(%rip), %rax", "call *%rax"]
    o.fail_unless([f"cmpl ${RELRO_VALUE:#x}, %eax"], "je", "relro")
    for place in ("lh_ro", "_DYNAMIC"):
        o.fail_unless([f"movl ${SYS_CLOCK_GETTIME}, %eax", f"movl ${CLOCK_MONOTONIC}, %edi",
                       f"leaq {place}(%rip), %rsi", "syscall", f"cmpq $-{EFAULT}, %rax"],
                      "je", "relro")


def _irelative_walker() -> list[str]:
    return ["leaq __rela_iplt_start(%rip), %rbx", "leaq __rela_iplt_end(%rip), %rbp",
            ".Lirel_loop:", "cmpq %rbp, %rbx", "jae .Lirel_done",
            f"cmpl ${R_X86_64_IRELATIVE}, 8(%rbx)", "jne .Lirel_next", "call *16(%rbx)",
            "movq (%rbx), %rcx", "movq %rax, (%rcx)", ".Lirel_next:",
            f"addq ${ELF64_RELA_SIZE}, %rbx", "jmp .Lirel_loop", ".Lirel_done:"]


def object_texts(case: FeatureCase) -> list[str]:
    objs = [_Object(k) for k in range(case.objects)]
    first = objs[0]
    if case.ifuncs and not case.dynamic:
        first.code += _irelative_walker()
    _inits(case, objs)  # constructors run first, as in a libc's start
    _ifuncs(case, objs)
    _merge(case, objs)
    _start_stop(case, objs)
    _hidden(case, objs)
    _unwind(case, objs)
    last = case.objects - 1
    first.fail_unless([f"call lh_obj{last}", f"cmpl ${last * (last + 1) // 2}, %eax"], "je",
                      "chain")
    if case.relro:
        _relro_checks(first)
    texts = []
    for o in objs:
        lines = [".text"]
        if o.number == 0:
            # run with an argument, the program forgives the IFUNC address check (below)
            finish = ["movl lh_mask(%rip), %r12d", "cmpq $2, %r13", "jb .Lstrict",
                      f"andl ${~BITS['ifunc_address'] & 0xFFFFFFFF:#x}, %r12d", ".Lstrict:"]
            if case.dynamic:
                finish += ["movl %r12d, %edi", "call lt1_f1_a1@PLT"]
            finish += ["xorl %edi, %edi", "testl %r12d, %r12d", "jz .Lexit", "bsfl %r12d, %edi",
                       "incl %edi", ".Lexit:", "movl $231, %eax", "syscall"]
            lines += [".globl _start", "_start:", "movq (%rsp), %r13", "andq $-16, %rsp", *o.code, *finish]
            o.data += [".bss", ".globl lh_mask", ".balign 8", "lh_mask:", ".zero 8",
                       ".globl lh_count", "lh_count:", ".zero 8", ".globl lh_order",
                       "lh_order:", ".zero 64"]
        else:
            chain = [f"call lh_obj{o.number - 1}", "movl %eax, %ebx"] if o.number > 1 else []
            lines += [f".globl lh_obj{o.number}", f"lh_obj{o.number}:", "pushq %rbx", *o.code,
                      "xorl %ebx, %ebx", *chain, f"leal {o.number}(%rbx), %eax", "popq %rbx",
                      "ret"]
        lines += [*o.text, ".data", *o.data, '.section .note.GNU-stack,"",@progbits', ""]
        texts.append("\n".join(lines))
    return texts
