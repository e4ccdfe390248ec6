# i386 R_386_PC8 and R_386_PC16 data fields whose implicit (REL) addend is negative:
# `.byte target - . - 4` holds -4 in the field until the link resolves it to
# target - P - 4.  The program recomputes that value with absolute addresses and exits 0
# when both fields hold it (sign-extended), 1 when the PC8 is wrong, 2 when the PC16 is.
        .data
        .globl  pc8
pc8:    .byte   target8 - . - 4
        .globl  pc16
pc16:   .word   target16 - . - 4
        .text
        .globl  _start
        .type   _start, @function
_start:
        movl    $target8, %eax
        subl    $pc8, %eax
        subl    $4, %eax
        movsbl  pc8, %ecx
        movl    $1, %ebx
        cmpl    %eax, %ecx
        jne     9f
        movl    $target16, %eax
        subl    $pc16, %eax
        subl    $4, %eax
        movswl  pc16, %ecx
        movl    $2, %ebx
        cmpl    %eax, %ecx
        jne     9f
        xorl    %ebx, %ebx
9:      movl    $1, %eax
        int     $0x80
