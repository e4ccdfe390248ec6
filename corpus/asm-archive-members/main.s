# Archive member extraction: only members that define a still-undefined symbol are pulled
# (m1.o directly, m3.o because m1.o needs it); m2.o would clash with main's own `shared`
# and must stay in the archive.  Static: no libraries.
        .text
        .globl  _start, shared
_start:
        call    used_fn                     # in libpick.a(m1.o)
        addl    shared(%rip), %eax          # main's own definition, never m2.o's
        movl    %eax, %edi
        movl    $60, %eax
        syscall
        .data
shared: .long   3
        .section .note.GNU-stack,"",@progbits
