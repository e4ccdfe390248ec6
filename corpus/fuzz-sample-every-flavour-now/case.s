# ---- o0.o
.file "o0.s"
.globl lh_f2
.globl lh_v3
.globl lt1_d1
.globl lt1_f0_a0
.globl lt1_f2_a2
.globl lt2_d0
.globl lt2_f1_a1
.globl lt2_f3_a3
.globl lt3_f1_a1
.section .text.lh_start,"ax",@progbits
.balign 16
.globl _start
.type _start, @function
.balign 16
_start:
    andq $-16, %rsp
    .byte 0xe8
    .reloc ., R_X86_64_PC32, lh_main-4
    .long 0
    movl %eax, %edi
    andl $255, %edi
    movl $231, %eax
    syscall
.size _start, .-_start
.section .text,"ax",@progbits
.balign 16
.globl lh_main
.type lh_main, @function
.balign 1
lh_main:
    pushq %rbx
    movl $0x7, %ebx
    movq %rbx, %rdi
    movl $0x5, %esi
    call lt1_f2_a2@PLT
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    .byte 0xe8
    .reloc ., R_X86_64_PC32, lh_s1-4
    .long 0
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    call *lh_f2@GOTPCREL(%rip)
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    testb $1, %bl
    jz 1f
    movq %rbx, %rdi
    movl $0x1, %esi
    movl $0x2, %edx
    movq lt2_f3_a3@GOTPCREL(%rip), %rax
    call *%rax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
1:
    movq lh_v0+8(%rip), %rax
    call *%rax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movq lh_w1, %rax
    call *%rax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movl lt1_d1+8(%rip), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movl $lh_w2+4, %eax
    movl %ebx, 0(%rax)
    movq lh_w2@GOTPCREL(%rip), %rax
    movl 4(%rax), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movl lh_v3, %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movzbl lh_v3+4(%rip), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movzwl lh_v3+5(%rip), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movl lh_v4(%rip), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movq %rbx, %rdi
    call lt3_f1_a1@PLT
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movq lt2_d0@GOTPCREL(%rip), %rax
    movl 4(%rax), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movzbl lh_v3+7(%rip), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movzwl lh_v3+8, %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movq lh_v3@GOTPCREL(%rip), %rax
    movq 10(%rax), %rax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movl $lh_v3+18, %eax
    movl 0(%rax), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    leaq _GLOBAL_OFFSET_TABLE_(%rip), %r11
    movabsq $lh_v3@GOTOFF, %rax
    addq %r11, %rax
    movl 0(%rax), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    leaq _GLOBAL_OFFSET_TABLE_(%rip), %r11
    movq lh_w2@GOT(%r11), %rax
    movl %ebx, 0(%rax)
    leaq _GLOBAL_OFFSET_TABLE_(%rip), %r11
    movabsq $lh_w2@GOTOFF, %rax
    addq %r11, %rax
    movl 0(%rax), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    leaq _GLOBAL_OFFSET_TABLE_(%rip), %r11
    movq lt1_d1@GOT(%r11), %rax
    movl 12(%rax), %eax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    leaq _GLOBAL_OFFSET_TABLE_(%rip), %r11
    movabsq $lh_v0@GOTOFF, %rax
    addq %r11, %rax
    movq 0(%rax), %rax
    call *%rax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movq %rbx, %rax
    popq %rbx
    ret
.size lh_main, .-lh_main
.type lh_s1, @function
.balign 16
lh_s1:
    pushq %rbx
    movl $0x3, %ebx
    movq %rbx, %rdi
    .byte 0x48, 0x8b, 0x05
    .reloc ., R_X86_64_GOTPCREL, lt2_f1_a1-4
    .long 0
    call *%rax
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movq %rbx, %rax
    popq %rbx
    ret
.size lh_s1, .-lh_s1
.section .data,"aw",@progbits
.balign 8
.globl lh_v0
.type lh_v0, @object
.balign 8
lh_v0:
.quad lh_s1
.quad lt1_f0_a0
.size lh_v0, .-lh_v0
.section .rodata,"a",@progbits
.balign 8
.type lh_w1, @object
.balign 8
lh_w1:
.quad lh_s1
.size lh_w1, .-lh_w1
.section .bss,"aw",@nobits
.balign 64
.type lh_w2, @object
.balign 4
lh_w2:
.long 0x0
.long 0x0
.size lh_w2, .-lh_w2
.comm lh_v4, 4, 8
.section .note.GNU-stack,"",@progbits

# ---- o1.o
.file "o1.s"
.globl lt3_f6_a6
.section .text.lh_f2,"ax",@progbits
.balign 64
.globl lh_f2
.type lh_f2, @function
.balign 1
lh_f2:
    pushq %rbx
    movl $0xb, %ebx
    movq %rbx, %rdi
    movl $0x1, %esi
    movl $0x2, %edx
    movl $0x3, %ecx
    movl $0x4, %r8d
    movl $0x5, %r9d
    call lt3_f6_a6@PLT
    imulq $31, %rbx, %rbx
    addq %rax, %rbx
    movq %rbx, %rax
    popq %rbx
    ret
.size lh_f2, .-lh_f2
.section lh_data,"aw",@progbits
.balign 4096
.globl lh_v3
.type lh_v3, @object
.balign 4
lh_v3:
.long 0x1234
.byte lh_k0+3
.short lh_k0+100
.byte lh_v3+5-.
.short lh_v3-3-.
.quad lh_v3+20-.
.long lh_v3+2-.
.size lh_v3, .-lh_v3
.globl lh_k0
.set lh_k0, 0x50
.section .note.GNU-stack,"",@progbits
