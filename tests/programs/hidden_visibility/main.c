/* Hidden-visibility functions and data shared between objects (resolved at link time, never
 * exported), next to default-visibility ones. */
#include <stdio.h>

__attribute__((visibility("hidden"))) int hidden_sum(int a, int b);
__attribute__((visibility("hidden"))) extern int hidden_state;
__attribute__((visibility("protected"))) extern int protected_value;
int visible_twice(int x);

int main(void)
{
    hidden_state = 3;
    printf("hidden_sum %d\n", hidden_sum(4, 5));
    int twice = visible_twice(21); /* before reading hidden_state, which it changes */
    printf("visible_twice %d, hidden_state %d, protected %d\n", twice, hidden_state,
           protected_value);
    return 0;
}
