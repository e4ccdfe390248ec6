# The tables and their targets, in another object than their users.
        .text
        .globl  fa, fb, fc, fskip
fa:     movl    $100, %eax
        ret
fb:     movl    $1, %eax
        ret
fc:     movl    $32, %eax
        ret
fskip:  jmp     fbad                        # 2 bytes: a pointer to fskip+2 skips it
        movl    $2, %eax
        ret
fbad:   movl    $100, %eax
        ret

        .data
        .globl  ftab, dptr, arr
        .p2align 3
ftab:   .quad   fa, fb, fc
dptr:   .quad   arr+12
arr:    .long   0, 0, 8, 4, 16, 0

        .globl  lptr
lptr:   .quad   lval                        # relocated against .data.local + 4
        .section .data.local, "aw"
        .long   0
lval:   .long   64

        .section .rodata
        .globl  rtab
        .p2align 3
rtab:   .quad   fa, arr+20-4, fskip+2
        .section .note.GNU-stack,"",@progbits
