# The callees of main.s, each returning a distinct bit.
        .text
        .globl  f_plt, f_pc32, f_gotx, f_rex, f_lea, f_plain
f_plt:  movl    $1, %eax
        ret
f_pc32: movl    $2, %eax
        ret
f_gotx: movl    $4, %eax
        ret
f_rex:  movl    $8, %eax
        ret
f_lea:  movl    $16, %eax
        ret
f_plain:
        movl    $64, %eax
        ret
        .data
        .globl  value
        .p2align 2
value:  .long   32
        .section .note.GNU-stack,"",@progbits
