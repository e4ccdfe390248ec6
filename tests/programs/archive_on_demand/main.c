/* A static archive whose members are pulled only when they define a still-undefined symbol;
 * a member needed only by another member is pulled on a rescan; unused members stay out
 * (one of them has a constructor that would print if it were wrongly linked in). */
#include <stdio.h>

int calc_add(int a, int b);
int calc_mul(int a, int b);
extern const int calc_table[5];

int main(void)
{
    printf("add %d mul %d\n", calc_add(20, 22), calc_mul(6, 7));
    printf("table %d %d\n", calc_table[0], calc_table[4]);
    return 0;
}
