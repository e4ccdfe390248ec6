# Thread-local zero-fill in .tbss and .tcommon (GNU ld puts the latter in .tbss); THIRD is
# replaced by the test with a section name the default script does not know.
.globl first_zeros, second_zeros, third_zeros
.section .tbss,"awT",@nobits
first_zeros:
.zero 512
.section .tcommon,"awT",@nobits
second_zeros:
.zero 512
.section THIRD,"awT",@nobits
.p2align 6
third_zeros:
.zero 512
.section .note.GNU-stack,"",@progbits
