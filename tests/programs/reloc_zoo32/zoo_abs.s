# Absolute symbols, defined apart from their users so that the references stay relocations.
    .globl zoo_small, zoo_mid
    .set zoo_small, 0x42
    .set zoo_mid, 0x1234
    .section .note.GNU-stack, "", @progbits
