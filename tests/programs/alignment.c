/* Over-aligned objects in .data, .bss and .rodata (64 and 4096 bytes), and a section whose
 * alignment forces padding: every address must honour its sh_addralign. */
#include <stdint.h>
#include <stdio.h>

char pad1 = 1;
__attribute__((aligned(64))) int line_data[3] = {1, 2, 3};
char pad2;
__attribute__((aligned(4096))) static char page_bss[100];
__attribute__((aligned(4096))) char page_data[10] = "page";
static const __attribute__((aligned(64))) double table[2] = {1.5, 2.5};
__attribute__((aligned(32))) static long vec[4];

struct __attribute__((aligned(128))) big_aligned {
    char c;
};
struct big_aligned many[3];

static void check(const char *name, const void *p, uintptr_t align)
{
    printf("%-10s aligned to %4lu: %s\n", name, (unsigned long)align,
           ((uintptr_t)p % align) == 0 ? "yes" : "NO");
}

int main(void)
{
    check("line_data", line_data, 64);
    check("page_bss", page_bss, 4096);
    check("page_data", page_data, 4096);
    check("table", table, 64);
    check("vec", vec, 32);
    check("many[1]", &many[1], 128);
    page_bss[99] = 5;
    vec[3] = 9;
    printf("%d %d %s %.1f %d %ld %d\n", pad1, line_data[2], page_data, table[1], page_bss[99],
           vec[3], pad2);
    return 0;
}
