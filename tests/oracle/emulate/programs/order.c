/* Start-up and exit order: preinit, constructors, main, atexit handlers (reverse),
   destructors. */
#include <stdio.h>
#include <stdlib.h>

static void pre(int argc, char **argv, char **envp) {
    (void)argv; (void)envp;
    printf("preinit argc=%d\n", argc);
}
__attribute__((section(".preinit_array"), used)) static void (*pre_p)(int, char **, char **) = pre;

__attribute__((constructor(200))) static void ctor_early(void) { puts("ctor 200"); }
__attribute__((constructor)) static void ctor_late(void) { puts("ctor default"); }
__attribute__((destructor(200))) static void dtor_early(void) { puts("dtor 200"); }
__attribute__((destructor)) static void dtor_late(void) { puts("dtor default"); }

static void first(void) { puts("atexit first"); }
static void second(void) { puts("atexit second"); atexit(first); }

static int depth(int n) {
    if (n == 0) {
        puts("exit from depth");
        exit(9);
    }
    return depth(n - 1) + 1;
}

int main(void) {
    atexit(first);
    atexit(second);
    puts("main");
    return depth(3);
}
