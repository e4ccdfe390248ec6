/* The shared library: exported functions and data objects (initialised, read-only pointer,
 * array), and a callback entry point. */
#include <stdio.h>

int shr_counter = 5;
const char *shr_name = "libshr";
int shr_table[4] = {1, 1, 2, 3};

int shr_add(int x)
{
    shr_counter += x;
    return shr_counter;
}

int shr_apply(int (*fn)(int), int x) { return fn(x) + shr_table[3]; }

void shr_report(void) { printf("lib sees counter %d, table[0] %d\n", shr_counter, shr_table[0]); }
