# One relocation of each x86-64 type that C compilers rarely emit, each one checked by main.c
# at run time.  Assembled with -mrelax-relocations=no so GOTPCREL stays GOTPCREL.
    .text
    .globl zoo_gotoff_addr
zoo_gotoff_addr:                        # &zoo_target as GOT base + GOT offset
    leaq _GLOBAL_OFFSET_TABLE_(%rip), %rax      # R_X86_64_GOTPC32
    movabsq $zoo_target@GOTOFF, %rdx            # R_X86_64_GOTOFF64
    addq %rdx, %rax
    ret

    .globl zoo_32s_addr
zoo_32s_addr:
    movq $zoo_target, %rax                      # R_X86_64_32S
    ret

    .globl zoo_gotpcrel_load
zoo_gotpcrel_load:                      # zoo_target[0], through a GOT slot
    movq zoo_target@GOTPCREL(%rip), %rax        # R_X86_64_GOTPCREL
    movl (%rax), %eax
    ret

    .globl zoo_import_via_got
zoo_import_via_got:                     # &puts as the GOT holds it
    movq puts@GOTPCREL(%rip), %rax              # R_X86_64_GOTPCREL against an import
    ret

    .data
    .globl zoo_abs8, zoo_abs16, zoo_abs32, zoo_abs64, zoo_pc8, zoo_pc16, zoo_pc32, zoo_pc64
zoo_abs8:
    .byte zoo_small                             # R_X86_64_8
zoo_pc8:
    .byte zoo_near - .                          # R_X86_64_PC8
zoo_abs16:
    .word zoo_mid                               # R_X86_64_16
zoo_pc16:
    .word zoo_target - .                        # R_X86_64_PC16
    .balign 4
zoo_abs32:
    .long zoo_target                            # R_X86_64_32
zoo_pc32:
    .long zoo_target + 4 - .                    # R_X86_64_PC32 with an addend
    .balign 8
zoo_abs64:
    .quad zoo_target + 8                        # R_X86_64_64 with an addend
zoo_pc64:
    .quad zoo_target - .                        # R_X86_64_PC64
    .section .note.GNU-stack, "", @progbits
