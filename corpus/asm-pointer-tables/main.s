# Pointer tables: R_X86_64_64 words in .data and .rodata (some with addends), reached by a
# rip-relative load, an R_X86_64_32S indexed call and an R_X86_64_32 immediate.  Each path
# adds its own bit to the exit status.  Static: no libraries.
        .text
        .globl  _start
_start:
        xorl    %ebx, %ebx
        movq    ftab+8(%rip), %rax          # R_X86_64_PC32 ftab+4: ftab[1] = fb
        call    *%rax                       # fb: 1
        addl    %eax, %ebx
        movl    $2, %ecx
        call    *rtab(,%rcx,8)              # R_X86_64_32S: rtab[2] = fskip+2 -> 2
        addl    %eax, %ebx
        movq    dptr(%rip), %rax            # dptr = arr+12 (R_X86_64_64, addend 12)
        addl    (%rax), %ebx                # arr[3] = 4
        movl    $arr, %eax                  # R_X86_64_32
        addl    8(%rax), %ebx               # arr[2] = 8
        movq    rtab+8(%rip), %rax          # rtab[1] = arr+20-4 (addend 16)
        addl    (%rax), %ebx                # arr[4] = 16
        movq    $ftab, %rax                 # R_X86_64_32S on a data address
        call    *16(%rax)                   # ftab[2] = fc: 32
        addl    %eax, %ebx
        movq    lptr(%rip), %rax            # lptr -> a local: section-relative R_X86_64_64
        addl    (%rax), %ebx                # 64
        movl    %ebx, %edi                  # 127 when every table entry is right
        movl    $60, %eax
        syscall
        .section .note.GNU-stack,"",@progbits
