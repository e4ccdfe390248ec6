        .text
        .globl  helper3
helper3:
        movl    $30, %eax
        ret
        .section .note.GNU-stack,"",@progbits
