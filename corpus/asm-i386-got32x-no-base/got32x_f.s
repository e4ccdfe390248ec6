        .text
        .globl  f
        .type   f, @function
f:
        movl    $42, %eax
        ret
