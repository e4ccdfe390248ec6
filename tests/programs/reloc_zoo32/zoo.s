# One relocation of each i386 type that C compilers rarely emit, each one checked by main.c
# at run time.  Assembled with -mrelax-relocations=no so GOT32 stays GOT32.
    .text
# Loads the GOT base into %ecx the way i386 PIC code does.
got_base:
    call 1f
1:  popl %ecx
    addl $_GLOBAL_OFFSET_TABLE_+(.-1b), %ecx    # R_386_GOTPC
    ret

    .globl zoo_gotoff_addr
zoo_gotoff_addr:                        # &zoo_target as GOT base + GOT offset
    call got_base
    leal zoo_target@GOTOFF(%ecx), %eax          # R_386_GOTOFF
    ret

    .globl zoo_got_load
zoo_got_load:                           # zoo_target[0], through a GOT slot
    call got_base
    movl zoo_target@GOT(%ecx), %eax             # R_386_GOT32
    movl (%eax), %eax
    ret

    .globl zoo_import_via_got
zoo_import_via_got:                     # &puts as the GOT holds it
    call got_base
    movl puts@GOT(%ecx), %eax                   # R_386_GOT32 against an import
    ret

    .globl zoo_abs_addr
zoo_abs_addr:
    movl $zoo_target, %eax                      # R_386_32 in code
    ret

    .data
    .globl zoo_abs8, zoo_abs16, zoo_abs32, zoo_pc8, zoo_pc16, zoo_pc32
zoo_abs8:
    .byte zoo_small                             # R_386_8
zoo_pc8:
    .byte zoo_near - .                          # R_386_PC8
zoo_abs16:
    .word zoo_mid                               # R_386_16
zoo_pc16:
    .word zoo_target - .                        # R_386_PC16
zoo_abs32:
    .long zoo_target + 8                        # R_386_32 with an (implicit) addend
zoo_pc32:
    .long zoo_target + 4 - .                    # R_386_PC32 with an addend
    .section .note.GNU-stack, "", @progbits
