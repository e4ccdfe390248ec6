"""setjmp and longjmp: the callee-saved registers, the stack pointer after the return and
the return address are kept in the jmp_buf (the first 8 words on x86-64, 6 on i386: within
glibc's __jmpbuf, unmangled), and longjmp puts them back and "returns" again.
"""

from __future__ import annotations

from unicorn import x86_const as x

from oracle.emulate.calls import JUMPED, CallContext, Export, _Jumped

SAVED = {
    8: (x.UC_X86_REG_RBX, x.UC_X86_REG_RBP, x.UC_X86_REG_R12, x.UC_X86_REG_R13,
        x.UC_X86_REG_R14, x.UC_X86_REG_R15),
    4: (x.UC_X86_REG_EBX, x.UC_X86_REG_ESI, x.UC_X86_REG_EDI, x.UC_X86_REG_EBP),
}


def setjmp(ctx: CallContext) -> int:
    abi, uc = ctx.machine.abi, ctx.machine.uc
    sp = abi.sp(uc)
    values = [int(uc.reg_read(r)) for r in SAVED[ctx.word]]
    values += [sp + ctx.word, abi.read_word(ctx.mem, sp)]  # sp after `ret`, return address
    ctx.mem.write(ctx.arg(0), b"".join(abi.pack(v) for v in values))
    return 0


def longjmp(ctx: CallContext) -> _Jumped:
    abi, uc = ctx.machine.abi, ctx.machine.uc
    env, value = ctx.arg(0), ctx.arg(1) & 0xFFFFFFFF
    regs = SAVED[ctx.word]
    raw = ctx.mem.read(env, ctx.word * (len(regs) + 2))
    words = [int.from_bytes(raw[i : i + ctx.word], "little") for i in range(0, len(raw), ctx.word)]
    for reg, saved in zip(regs, words):
        uc.reg_write(reg, saved)
    sp, pc = words[len(regs)], words[len(regs) + 1]
    ctx.machine.unwind_to(sp)
    uc.reg_write(abi.sp_reg, sp)
    uc.reg_write(abi.pc_reg, pc)
    abi.set_return(uc, value or 1)
    return JUMPED


EXPORTS = (
    Export("setjmp", 1, setjmp),
    Export("_setjmp", 1, setjmp),
    Export("__sigsetjmp", 2, setjmp),
    Export("sigsetjmp", 2, setjmp),
    Export("longjmp", 2, longjmp),
    Export("_longjmp", 2, longjmp),
    Export("siglongjmp", 2, longjmp),
    Export("__longjmp_chk", 2, longjmp),
)
