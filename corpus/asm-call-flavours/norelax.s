# Assembled with -mrelax-relocations=no: the old, non-relaxable R_X86_64_GOTPCREL.
        .text
        .globl  via_plain_gotpcrel
via_plain_gotpcrel:
        movq    f_plain@GOTPCREL(%rip), %rax
        jmp     *%rax
        .section .note.GNU-stack,"",@progbits
