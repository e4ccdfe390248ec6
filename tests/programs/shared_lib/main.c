/* An executable importing functions and data from a shared library built in the test:
 * PLT calls, COPY relocations for the data, a pointer to an imported function in .data, and
 * a callback from the library into the executable. */
#include <stdio.h>

extern int shr_counter;
extern const char *shr_name;
extern int shr_table[4];
int shr_add(int x);
int shr_apply(int (*fn)(int), int x);
void shr_report(void);

static int triple(int x) { return 3 * x; }
int (*adder)(int) = shr_add;
int *counter_ptr = &shr_counter;

int main(void)
{
    printf("%s: counter %d, table %d %d %d %d\n", shr_name, shr_counter, shr_table[0],
           shr_table[1], shr_table[2], shr_table[3]);
    int direct = shr_add(10);      /* separate statements: argument order is unspecified */
    int indirect = adder(100);
    printf("shr_add(10) = %d, via pointer %d\n", direct, indirect);
    shr_counter += 1000;   /* the executable and the library must share one copy */
    shr_table[0] = 42;
    shr_report();
    printf("*counter_ptr = %d\n", *counter_ptr);
    printf("apply = %d\n", shr_apply(triple, 7));
    return shr_counter % 256;
}
