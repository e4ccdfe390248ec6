# A relocation whose value does not fit its field: R_X86_64_32 (zero-extended) of a symbol
# at 0x1_0000_0010, and R_X86_64_8 of 300.  Every linker must refuse to truncate.
        .text
        .globl  _start
_start: movl    $60, %eax
        xorl    %edi, %edi
        syscall
        .data
        .long   far_away
        .byte   too_big
        .section .note.GNU-stack,"",@progbits
