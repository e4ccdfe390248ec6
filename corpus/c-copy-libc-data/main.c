/* Data objects of libc.so.6 used from a non-PIE executable: stdout, stderr, environ and
 * __environ are reached by absolute/pc-relative address, so each needs a COPY relocation;
 * environ and __environ (two names of one object) must be copied to the same place, and
 * libc itself must use the copy: getenv() has to see an array the program stores there. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;
extern char **__environ;

static char *replacement[] = { "CORPUS_PROBE=yes", 0 };

int main(void)
{
    int aliased = &environ == &__environ && environ == __environ;
    int streams = stdout != stderr && stdout != 0 && stderr != 0;
    fputs("via copied stdout\n", stdout);
    environ = replacement;
    const char *probe = getenv("CORPUS_PROBE");
    int seen = probe != 0 && __environ == replacement;
    fprintf(stdout, "streams=%d aliased=%d seen=%d\n", streams, aliased, seen);
    fflush(stdout);
    return streams * 4 + aliased * 2 + seen;
}
