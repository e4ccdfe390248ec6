# 8- and 16-bit relocated fields whose values are in range: R_X86_64_8 and R_X86_64_16 of
# absolute symbols defined in another object, R_X86_64_PC16 and R_X86_64_PC8 displacements
# to a function in the next object (turned back into addresses at run time and called).
        .text
        .globl  _start
_start:
        xorl    %ebx, %ebx
        movzbl  f8(%rip), %eax              # R_X86_64_8 of small8 (= 1)
        addl    %eax, %ebx
        movzwl  f16(%rip), %eax             # R_X86_64_16 of small16 (= 2)
        addl    %eax, %ebx
        movzwl  f16hi(%rip), %eax           # R_X86_64_16 of big16 (= 0xff04): high byte too
        subl    $0xff00, %eax               # -> 4
        addl    %eax, %ebx
        movswq  pc16(%rip), %rax            # pc16 holds callee16 - pc16 (R_X86_64_PC16)
        leaq    pc16(%rip), %rcx
        addq    %rcx, %rax
        call    *%rax                       # callee16: 8
        addl    %eax, %ebx
        movsbq  pc8(%rip), %rax             # pc8 holds callee8 - pc8 (R_X86_64_PC8)
        leaq    pc8(%rip), %rcx
        addq    %rcx, %rax
        call    *%rax                       # callee8: 16
        addl    %eax, %ebx
        movl    %ebx, %edi                  # 31 when every field is right
        movl    $60, %eax
        syscall
        # The fields live at the end of .text so that the PC8 distance to the next
        # object's .text stays far below 127 bytes.
f8:     .byte   small8
f16:    .word   small16
f16hi:  .word   big16
pc16:   .word   callee16 - .
pc8:    .byte   callee8 - .
        .section .note.GNU-stack,"",@progbits
