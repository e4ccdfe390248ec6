/* COMMON symbols merged across objects (and with a real definition), weak definitions that
 * are overridden and that are not, and a weak undefined reference that must resolve to 0. */
#include <stdio.h>

int counter;                 /* COMMON here and in other.c (-fcommon) */
int sized[4];                /* COMMON, 16 bytes here; other.c's is larger: the largest wins */
int initialised;             /* COMMON here, a real .data definition in other.c */

__attribute__((weak)) int hook(void) { return 1; }     /* other.c overrides it */
__attribute__((weak)) int fallback(void) { return 2; } /* nobody overrides it */
extern int optional_feature(void) __attribute__((weak)); /* defined nowhere */

void bump(int by);
int sized_sum(void);

int main(void)
{
    bump(5);
    bump(7);
    sized[3] = 100;
    printf("counter=%d initialised=%d hook=%d fallback=%d optional=%s sized=%d\n",
           counter, initialised, hook(), fallback(),
           optional_feature ? "present" : "absent", sized_sum());
    return counter + hook();
}
