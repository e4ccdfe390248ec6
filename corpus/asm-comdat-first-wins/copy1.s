# COMDAT group "pick" (a function and its data, as a C++ inline function with a static
# local makes), in both objects with different contents: the linker must keep the whole
# group from the first object in link order and drop the other copy entirely.
        .section .text.pick,"axG",@progbits,pick,comdat
        .globl  pick
        .type   pick, @function
pick:
        movl    pick_data(%rip), %eax       # the group's own data: must be the same copy's
        addl    $1, %eax
        ret
        .section .data.pick,"awG",@progbits,pick,comdat
        .globl  pick_data
        .type   pick_data, @object
        .p2align 2
pick_data:
        .long   10

        .text
        .globl  from_copy1
from_copy1:
        jmp     pick                        # every caller reaches the kept copy
        .section .note.GNU-stack,"",@progbits
