# Mach-O x86-64: a call to another object (BRANCH), a GOT load of its data (GOT_LOAD),
# a pc-relative load (SIGNED), a pointer table with addends (UNSIGNED 64, rebased in the
# PIE), a difference of two symbols (SUBTRACTOR + UNSIGNED, _start - _table) and libSystem's puts through
# a stub (lazily bound).  Exits with helper() + value + table checks = 0 when all hold.
        .section __TEXT,__text,regular,pure_instructions
        .globl  _start
_start:
        pushq   %rbp
        movq    %rsp, %rbp
        andq    $-16, %rsp                # LC_MAIN or LC_UNIXTHREAD: align either way
        leaq    L_msg(%rip), %rdi
        callq   _puts
        callq   _helper                   # 40
        movq    _value@GOTPCREL(%rip), %rcx
        addl    (%rcx), %eax              # + 2 = 42
        movl    _value(%rip), %edx        # SIGNED: 2
        subl    %edx, %eax                # 40
        movq    _table+8(%rip), %rcx      # &value + 0 (pointer with addend in the table)
        addl    (%rcx), %eax              # 42
        movq    _table(%rip), %rcx        # &helper
        leaq    _helper(%rip), %rdx
        cmpq    %rcx, %rdx
        jne     Lbad
        movq    L_diff(%rip), %rcx        # _start - _table = distance
        leaq    _start(%rip), %rdx
        leaq    _table(%rip), %rsi
        subq    %rsi, %rdx
        cmpq    %rcx, %rdx
        jne     Lbad
        movl    %eax, %edi
        subl    $42, %edi                 # 0 when every field was right
        callq   _exit
Lbad:   movl    $1, %edi
        callq   _exit
        .section __TEXT,__cstring,cstring_literals
L_msg:  .asciz  "hello from macho-x86_64"
        .section __DATA,__data
        .p2align 3
        .globl  _table
_table: .quad   _helper
        .quad   _value
L_diff: .quad   _start - _table
.subsections_via_symbols
