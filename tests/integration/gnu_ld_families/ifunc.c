/* STT_GNU_IFUNC, local and global, in a dynamically linked or static executable: every
   call, every address taken (in code and in data) and every GOT load must reach the
   implementation the resolver picks, through a PLT entry bound by IRELATIVE, never the
   resolver itself (which returns a pointer: a call to it prints garbage or nothing). */
#include <stdio.h>
static int impl_a(int x) { return x + 1; }
static int impl_b(int x) { return x + 2; }
static volatile int pick_b = 1;
static void *resolve_f(void) { return pick_b ? (void *)impl_b : (void *)impl_a; }
static int f(int) __attribute__((ifunc("resolve_f")));
int g(int) __attribute__((ifunc("resolve_f")));
int (*fp)(int) = g;
int main(void) {
    int (*volatile lp)(int) = f;
    printf("%d %d %d %d %d\n", f(1), g(2), fp(3), lp(4), fp == g);
    return 0;
}
