/* Three objects each with static count/label/step/show: locals never resolve across files. */
#include <stdio.h>

int run_one(void);
int run_two(void);
int run_three(void);
static int count = 1000;

int main(void)
{
    int a = run_one(), b = run_two(), c = run_three();
    printf("%d %d %d %d\n", a, b, c, count);
    printf("%d\n", run_one());
    return 0;
}
