/* Command-line arguments parsed with strtol/strtoul (bases 0, 10, 16, 2) and errno = ERANGE,
 * which reaches the program through __errno_location. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long total = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        errno = 0;
        long v = strtol(argv[i], &end, 0);
        printf("%-22s -> %ld%s%s\n", argv[i], v, *end ? " rest=" : "", end);
        if (errno == ERANGE)
            printf("  ERANGE (clamped to %s)\n", v == LONG_MAX ? "LONG_MAX" : "LONG_MIN");
        total += v % 1000;
    }
    printf("binary 101101 = %ld\n", strtol("101101", NULL, 2));
    printf("hex ff = %lu\n", strtoul("ff", NULL, 16));
    printf("atoi 12abc = %d\n", atoi("12abc"));
    printf("total %% 1000 terms = %ld\n", total);
    return argc - 1;
}
