/* main itself lives in an archive: nothing on the command line defines it, and only crt1.o's
 * reference to main pulls this member in (which in turn pulls greet.o). */
#include <stdio.h>

const char *greeting(void);
extern int greet_count;

int main(void)
{
    const char *text = greeting(); /* before reading greet_count, which it changes */
    printf("%s (%d)\n", text, greet_count);
    return 3;
}
