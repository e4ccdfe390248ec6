/* -ffunction-sections -fdata-sections: every function and object in its own section
 * (.text.NAME, .data.NAME, .bss.NAME, .rodata.NAME), each relocated on its own. */
#include <stdio.h>

int used_in_other(int x);
extern int other_data[3];
extern const char *const other_names[];
static int local_bss[16];
static int local_data = 9;
static const int local_const[3] = {7, 8, 9};

static int helper(int x) { return x + local_data; }
int never_called(int x) { return x * 1234; }

int main(void)
{
    local_bss[15] = helper(1);
    printf("%d %d %d\n", used_in_other(2), other_data[1], local_bss[15]);
    for (int i = 0; i < 3; i++)
        printf("%s=%d\n", other_names[i], local_const[i]);
    return 0;
}
