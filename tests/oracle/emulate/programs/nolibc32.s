# A static i386 program without libc: write(1, msg, 6) then exit_group(42) via int $0x80.
        .globl _start
        .text
_start:
        mov     $1, %ebx
        mov     $msg, %ecx
        mov     $6, %edx
        mov     $4, %eax
        int     $0x80
        mov     $42, %ebx
        mov     $252, %eax
        int     $0x80
        hlt
        .data
msg:    .ascii  "nolibc"
        .section .note.GNU-stack,"",@progbits
