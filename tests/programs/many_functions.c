/* Hundreds of functions (global and static) called through a table and directly: many
 * symbols, many relocations, a large .text. */
#include <stdio.h>

#define F(n)                                                                                       \
    int g##n(int x) { return x * (n % 7 + 1) + n; }                                                \
    static int s##n(int x) { return g##n(x) ^ (n * 31); }
#define F10(n) F(n##0) F(n##1) F(n##2) F(n##3) F(n##4) F(n##5) F(n##6) F(n##7) F(n##8) F(n##9)
#define F100(n) F10(n##0) F10(n##1) F10(n##2) F10(n##3) F10(n##4) F10(n##5) F10(n##6) \
                F10(n##7) F10(n##8) F10(n##9)

F100(1)
F100(2)
F100(3)

#define R(n) s##n,
#define R10(n) R(n##0) R(n##1) R(n##2) R(n##3) R(n##4) R(n##5) R(n##6) R(n##7) R(n##8) R(n##9)
#define R100(n) R10(n##0) R10(n##1) R10(n##2) R10(n##3) R10(n##4) R10(n##5) R10(n##6) \
                R10(n##7) R10(n##8) R10(n##9)

static int (*const table[])(int) = {R100(1) R100(2) R100(3)};

int main(void)
{
    unsigned long acc = 0;
    int count = (int)(sizeof table / sizeof table[0]);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < count; i++)
            acc = acc * 31 + (unsigned)table[i]((int)(acc & 0xffff));
    printf("functions %d (plus %d globals)\n", count, count);
    printf("acc %lu\n", acc);
    printf("direct %d %d %d\n", g100(1), g250(2), g399(3));
    return 0;
}
