/* COMMON symbols (-fcommon): tentative definitions of the same name in several objects merge
 * into one object (largest size, strictest alignment); a real definition beats them all. */
#include <stdio.h>

int shared_counter;
int shared_array[4];
double defined_elsewhere;
char sized_differently[8];

void bump_a(void);
void bump_b(void);
int array_sum(void);
char touch_last(void);

int main(void)
{
    shared_counter = 1;
    bump_a();
    bump_b();
    printf("shared_counter = %d\n", shared_counter);
    shared_array[0] = 5;
    printf("array sum = %d\n", array_sum());
    printf("defined_elsewhere = %.2f\n", defined_elsewhere);
    sized_differently[0] = 'm';
    printf("last byte via a.c = %c, first = %c, sizeof here %zu\n", touch_last(),
           sized_differently[0], sizeof sized_differently);
    return 0;
}
