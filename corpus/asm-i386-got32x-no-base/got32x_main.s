# i386, non-PIC code built with -fno-plt: `call *f@GOT` with no GOT base register is
# R_386_GOT32X, whose field is the GOT slot's absolute address (G + A, i386 psABI 2.x
# "no base register" form).  Exit status 0 when f ran and returned 42 through it.
        .text
        .globl  _start
        .type   _start, @function
_start:
        call    *f@GOT
        xorl    %ebx, %ebx
        cmpl    $42, %eax
        je      1f
        movl    $1, %ebx
1:      movl    $1, %eax            # exit(%ebx)
        int     $0x80
