/* Data objects of libc.so.6 used from a non-PIE executable: stdout, optind, environ and
 * __environ are reached by absolute/pc-relative address, so each needs a COPY relocation;
 * environ and __environ (two names of one object) must be copied to the same place, and
 * libc itself must use the copy (setenv() updates the array the program then scans). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
extern char **__environ;
extern int optind;

static int probe_visible(void)
{
    for (char **e = environ; e && *e; e++)
        if (strcmp(*e, "CORPUS_PROBE=yes") == 0)
            return 1;
    return 0;
}

int main(void)
{
    int aliased = &environ == &__environ && environ == __environ;
    fputs("via copied stdout\n", stdout);
    if (setenv("CORPUS_PROBE", "yes", 1) != 0)
        return 99;
    int seen = probe_visible();
    fprintf(stdout, "optind=%d aliased=%d seen=%d\n", optind, aliased, seen);
    fflush(stdout);
    return optind * 10 + aliased * 2 + seen;
}
