/* Constructors and destructors with priorities: .init_array/.fini_array entries sorted by
 * priority (.init_array.NNNNN sections), run before main and after exit. */
#include <stdio.h>

static int order;

__attribute__((constructor(200))) static void second(void) { printf("ctor 200 (%d)\n", order++); }
__attribute__((constructor(101))) static void first(void) { printf("ctor 101 (%d)\n", order++); }
__attribute__((constructor)) static void plain(void) { printf("ctor default (%d)\n", order++); }
__attribute__((constructor(300))) static void third(void) { printf("ctor 300 (%d)\n", order++); }

__attribute__((destructor(101))) static void last(void) { printf("dtor 101\n"); }
__attribute__((destructor(200))) static void middle(void) { printf("dtor 200\n"); }
__attribute__((destructor)) static void early(void) { printf("dtor default\n"); }

int main(void)
{
    printf("main sees order=%d\n", order);
    return 0;
}
