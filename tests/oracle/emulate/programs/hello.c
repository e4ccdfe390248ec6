#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    puts("hello, world");
    for (int i = 1; i < argc; i++)
        printf("arg %d: %s (%zu)\n", i, argv[i], (size_t)i * 3);
    const char *home = getenv("GREETING");
    printf("%s %-6s|%+d %x %o %5.2f %e %c %%\n", home ? home : "(none)", "pad", 42, 255u, 8u,
           3.14159, 12345.678, 'z');
    printf("%ld %lld %llu %hhd %p\n", -7L, -1234567890123LL, 18446744073709551615ULL,
           (signed char)200, (void *)0);
    return argc + 4;
}
