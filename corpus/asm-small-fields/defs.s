# Absolute symbols and the callees reached through the 8- and 16-bit displacements.
        .globl  small8, small16, big16, callee8, callee16
        .set    small8, 1
        .set    small16, 2
        .set    big16, 0xff04
        .text
callee8:
        movl    $16, %eax
        ret
callee16:
        movl    $8, %eax
        ret
        .section .note.GNU-stack,"",@progbits
