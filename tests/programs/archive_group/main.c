/* Two archives that depend on each other: liba's entry needs libb, which needs liba again.
 * Only --start-group/--end-group (rescanning both) resolves it. */
#include <stdio.h>

int a_entry(int x);

int main(void)
{
    printf("a_entry(5) = %d\n", a_entry(5));
    return 0;
}
