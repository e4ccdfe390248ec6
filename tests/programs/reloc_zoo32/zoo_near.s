# The PC8 target: a byte in .data, linked right after zoo.s's small .data.
    .data
    .globl zoo_near
zoo_near:
    .byte 0x5a
    .section .note.GNU-stack, "", @progbits
