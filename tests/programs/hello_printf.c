/* printf and puts from libc: the smallest dynamic link (PLT calls, .rodata strings). */
#include <stdio.h>

int main(void)
{
    puts("hello, world");
    printf("%s %d %u %x %o %c %5.2f|%-6s|%06d\n", "ints", -7, 7u, 255, 8, 'z', 3.14159, "left",
           42);
    printf("%ld %lld %zu\n", 1234567890123L, -9876543210LL, sizeof(long));
    fputs("no newline then ", stdout);
    putchar('!');
    putchar('\n');
    return 0;
}
