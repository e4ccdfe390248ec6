/* libb member: calls back into liba. */
#include <stdio.h>

int a_leaf(int x);
extern int a_leaf_calls;

int b_middle(int x)
{
    int r = a_leaf(x) + a_leaf(x + 1);
    printf("b_middle: a_leaf called %d times\n", a_leaf_calls);
    return r;
}
