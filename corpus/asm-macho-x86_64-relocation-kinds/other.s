        .section __TEXT,__text,regular,pure_instructions
        .globl  _helper
_helper:
        movl    $40, %eax
        retq
        .section __DATA,__data
        .p2align 2
        .globl  _value
_value: .long   2
.subsections_via_symbols
