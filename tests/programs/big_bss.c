/* A large .bss (64 MiB + odd sizes) next to small initialised data: NOBITS must take no file
 * space, be zero-filled, and not overlap .data. */
#include <stdio.h>
#include <string.h>

#define BIG (64u << 20)
static unsigned char big[BIG];
static int small_after[1000];
int tail_initialised = 1234;
long odd_sized[3333];

int main(void)
{
    unsigned long sum = 0;
    for (unsigned i = 0; i < BIG; i += 4096)
        sum += big[i];
    printf("zero sum: %lu\n", sum);
    for (unsigned i = 0; i < BIG; i += 4096)
        big[i] = (unsigned char)(i >> 12);
    sum = 0;
    for (unsigned i = 0; i < BIG; i += 4096)
        sum += big[i];
    printf("written sum: %lu\n", sum);
    memset(small_after, 0xff, sizeof small_after);
    odd_sized[3332] = 77;
    printf("big[BIG-1]=%d tail=%d odd=%ld small=%d\n", big[BIG - 1], tail_initialised,
           odd_sized[3332], small_after[999]);
    return 0;
}
