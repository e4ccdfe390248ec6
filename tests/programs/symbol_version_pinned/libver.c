/* A library with two versions of one function (the old one hidden, the new one the default)
 * and a plain function that exists in version VER_1 only. */
#include <stdio.h>

const char *describe_v1(void) { return "describe@VER_1 (old)"; }
const char *describe_v2(void) { return "describe@@VER_2 (default)"; }
__asm__(".symver describe_v1, describe@VER_1");
__asm__(".symver describe_v2, describe@@VER_2");

int stable(int x) { return x + 1; }
