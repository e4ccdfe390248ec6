# `start` for programs linked with --macho-classic, whose LC_UNIXTHREAD enters here with no
# dyld to call main: the kernel's stack holds argc, then argv[] and envp[], each NULL-ended.
# Calls main(argc, argv, envp) on a 16-byte aligned stack, then exit() with its result, so
# that atexit handlers and destructors run as they do under LC_MAIN.
    .text
    .globl start
start:
    movq (%rsp), %rdi               # argc
    leaq 8(%rsp), %rsi              # argv
    leaq 8(%rsi,%rdi,8), %rdx       # envp: past argv's argc entries and its NULL
    andq $-16, %rsp
    callq _main
    movl %eax, %edi
    callq _exit
    hlt
