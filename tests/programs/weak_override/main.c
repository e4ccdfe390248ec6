/* Weak definitions overridden by strong ones in another object, and weak definitions that
 * stand when nothing overrides them. */
#include <stdio.h>

int hook(int x);
const char *name(void);
extern int setting;
extern int fallback_only;

int main(void)
{
    printf("hook(2) = %d\n", hook(2));
    printf("name = %s\n", name());
    printf("setting = %d, fallback_only = %d\n", setting, fallback_only);
    return 0;
}
