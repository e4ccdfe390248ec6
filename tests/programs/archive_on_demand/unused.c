/* Archive member nobody references: if it were linked, its constructor would print. */
#include <stdio.h>

__attribute__((constructor)) static void announce(void) { puts("UNUSED MEMBER WAS LINKED"); }
int calc_unused(void) { return 1; }
