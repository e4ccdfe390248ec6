# A static program without libc: write(1, msg, 6) then exit_group(42).
        .globl _start
        .text
_start:
        mov     $1, %edi
        lea     msg(%rip), %rsi
        mov     $6, %edx
        mov     $1, %eax
        syscall
        mov     $42, %edi
        mov     $231, %eax
        syscall
        hlt
        .data
msg:    .ascii  "nolibc"
        .section .note.GNU-stack,"",@progbits
