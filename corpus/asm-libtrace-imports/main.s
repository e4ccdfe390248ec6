# Imports from two shared libraries (libtrace1.so, libtrace2.so), each reached a different
# way: a PLT call, a call through the GOT, a call through a pointer stored in .data, and a
# data object reached pc-relative (a COPY relocation).  Every recorder's result feeds the
# next call, so the trace and the exit status depend on each binding being right.
        .text
        .globl  _start
_start:
        movl    $1, %edi
        movl    $2, %esi
        call    lt1_f2_a2                   # PLT32 -> PLT entry
        movq    %rax, %rbx
        movq    %rax, %rdi
        call    *lt1_f1_a1@GOTPCREL(%rip)   # GOTPCRELX -> GLOB_DAT slot
        xorq    %rax, %rbx
        call    *fptr(%rip)                 # pointer in .data -> lt2_f0_a0
        xorq    %rax, %rbx
        movl    lt2_d0+4(%rip), %eax        # word 1 of a COPY-relocated data object
        xorq    %rax, %rbx
        movq    %rbx, %rdi
        movq    %rbx, %rsi
        shrq    $8, %rsi
        movl    $3, %edx
        call    lt2_f3_a3                   # its arguments carry everything so far
        movzbl  %al, %edi
        movl    $60, %eax
        syscall

        .data
        .p2align 3
fptr:   .quad   lt2_f0_a0                   # R_X86_64_64 against an import
        .section .note.GNU-stack,"",@progbits
