/* elf32-i386, non-PIE: REL relocations with implicit addends (R_386_32 into a table with
 * offsets, R_386_PC32 and R_386_PLT32 calls), a COPY of stdout, printf through the PLT. */
#include <stdio.h>

struct pair { const char *name; int value; };
extern struct pair pairs[];
extern const char *const names[];
int pick(int i);

int main(void)
{
    int total = 0;
    for (int i = 0; i < 3; i++)
        total += pick(i);
    fprintf(stdout, "%s=%d %s=%d total=%d\n", pairs[1].name, pairs[1].value, names[2],
            pick(2), total);
    return total;
}
