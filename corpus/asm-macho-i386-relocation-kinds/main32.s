# Mach-O i386: a pic base (calll/popl), a string reached by a LOCAL_SECTDIFF, libSystem's
# puts through a stub, a call to another object (pc-relative VANILLA), that object's data
# through a non-lazy pointer (__IMPORT,__pointers and the indirect symbol table), a pointer
# table of absolute VANILLA words (rebased in the PIE) and a SECTDIFF word in __data.
# Exits 0 when every field was right.
        .section __TEXT,__text,regular,pure_instructions
        .globl  _start
_start:
        pushl   %ebp
        movl    %esp, %ebp
        pushl   %ebx
        pushl   %esi
        andl    $-16, %esp                     # LC_MAIN or LC_UNIXTHREAD: align either way
        subl    $16, %esp
        calll   L0$pb
L0$pb:  popl    %ebx
        leal    L_msg-L0$pb(%ebx), %eax
        movl    %eax, (%esp)
        calll   _puts
        calll   _helper                        # 40
        movl    L_value$non_lazy_ptr-L0$pb(%ebx), %ecx
        addl    (%ecx), %eax                   # + 2 = 42
        movl    _table+4-L0$pb(%ebx), %ecx     # &value, from the table
        addl    (%ecx), %eax                   # 44
        movl    _table-L0$pb(%ebx), %ecx       # &helper, from the table
        leal    _helper2-L0$pb(%ebx), %edx
        movl    $1, %esi
        cmpl    %ecx, %edx
        jne     Lexit
        movl    L_diff-L0$pb(%ebx), %ecx       # _start - _table
        leal    _start-L0$pb(%ebx), %edx
        leal    _table-L0$pb(%ebx), %esi
        subl    %esi, %edx
        movl    $2, %esi
        cmpl    %ecx, %edx
        jne     Lexit
        leal    -44(%eax), %esi                # 0 when every field was right
Lexit:  movl    %esi, (%esp)
        calll   _exit
        .globl  _helper2
_helper2:
        jmp     _helper
        .section __TEXT,__cstring,cstring_literals
L_msg:  .asciz  "hello from macho-i386"
        .section __DATA,__data
        .p2align 2
        .globl  _table
_table: .long   _helper2
        .long   _value
L_diff: .long   _start - _table
        .section __IMPORT,__pointers,non_lazy_symbol_pointers
L_value$non_lazy_ptr:
        .indirect_symbol _value
        .long   0
.subsections_via_symbols
