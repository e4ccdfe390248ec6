/* Aliases: a weak alias and a strong alias of the same definition, and a weak definition that
 * nothing overrides; all must name one address. */
#include <stdio.h>

int impl_counter = 0;

int real_work(int x)
{
    impl_counter++;
    return x * 3;
}
int work(int) __attribute__((weak, alias("real_work")));
int also_work(int) __attribute__((alias("real_work")));
extern int counter_alias __attribute__((alias("impl_counter")));

__attribute__((weak)) const char *greeting(void) { return "weak greeting"; }

int main(void)
{
    printf("%d %d %d\n", work(1), also_work(2), real_work(3));
    printf("same address: %d %d\n", work == real_work, also_work == real_work);
    printf("counter %d alias %d\n", impl_counter, counter_alias);
    printf("%s\n", greeting());
    return 0;
}
