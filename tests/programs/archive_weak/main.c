/* Archives and weak symbols, the GNU ld way: an undefined *weak* reference never pulls an
 * archive member (so optional_feature stays NULL and its member's constructor never runs);
 * a member pulled for another symbol may carry a weak definition that main's strong one
 * overrides, and a weak definition that nothing overrides. */
#include <stdio.h>

extern int optional_feature(void) __attribute__((weak));
int util_twice(int x);
const char *util_name(void);

const char *util_name(void) { return "main's strong util_name"; }

int main(void)
{
    printf("optional_feature: %s\n", optional_feature ? "linked" : "NULL");
    printf("util_twice(21) = %d\n", util_twice(21));
    printf("util_name: %s\n", util_name());
    return 0;
}
