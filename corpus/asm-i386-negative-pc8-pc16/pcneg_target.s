        .data
        .globl  target8
        .globl  target16
target8:  .byte 7
target16: .word 9
