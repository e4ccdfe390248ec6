        .text
        .globl  used_fn
used_fn:
        call    helper3                     # pulls m3.o from the same archive
        addl    $10, %eax
        ret
        .section .note.GNU-stack,"",@progbits
