# Calls and loads through every x86-64 call relocation flavour; each callee returns its own
# bit, so a wrong exit status names the flavour that went wrong.  Static: no libraries.
        .text
        .globl  _start
_start:
        xorl    %ebx, %ebx
        call    f_plt                       # R_X86_64_PLT32 (GNU as's default for call)
        addl    %eax, %ebx
        .byte   0xe8                        # call rel32 with a plain R_X86_64_PC32
        .long   f_pc32 - . - 4
        addl    %eax, %ebx
        call    *f_gotx@GOTPCREL(%rip)      # R_X86_64_GOTPCRELX
        addl    %eax, %ebx
        movq    f_rex@GOTPCREL(%rip), %rax  # R_X86_64_REX_GOTPCRELX
        call    *%rax
        addl    %eax, %ebx
        leaq    f_lea(%rip), %rcx           # R_X86_64_PC32 on a lea
        call    *%rcx
        addl    %eax, %ebx
        movq    value@GOTPCREL(%rip), %rax  # REX_GOTPCRELX to data in another object
        addl    (%rax), %ebx
        call    via_plain_gotpcrel          # in norelax.o
        addl    %eax, %ebx
        movl    %ebx, %edi
        movl    $60, %eax                   # exit(127 when all flavours are right)
        syscall
        .section .note.GNU-stack,"",@progbits
