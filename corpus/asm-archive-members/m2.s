        .text
        .globl  unused_fn, shared
unused_fn:
        movl    $100, %eax
        ret
        .data
shared: .long   100                         # a duplicate, harmless while m2.o stays out
        .section .note.GNU-stack,"",@progbits
