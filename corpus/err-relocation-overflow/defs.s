        .globl  far_away, too_big
        .set    far_away, 0x100000010
        .set    too_big, 300
        .section .note.GNU-stack,"",@progbits
