/* Native oracle for the emulator's <ctype.h> and strto* functions (glibc, C locale).
 *
 * "ctype": for every c in -128..255 prints one line: c, then isdigit isalpha isspace
 *          isalnum isupper islower isxdigit isprint ispunct toupper tolower of c, called
 *          through function pointers so the library functions run, not the macros; then
 *          the raw entries of glibc's class, toupper and tolower tables for c.
 * "strto": reads cases from stdin until EOF (little-endian i32 base, u32 length, bytes)
 *          and prints per case: for each of strtol strtoul strtoll strtoull the value, the
 *          end pointer's offset (-1 when left untouched) and errno; then atoi and atol.
 * "rand":  three rand() values unseeded, then per u32 seed read from stdin, srand(seed)
 *          and five rand() values, one line each.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long end_offset(const char *text, char *end) { return end == NULL ? -1 : end - text; }

static int strto_cases(void) {
    int32_t base;
    uint32_t len;
    while (fread(&base, 4, 1, stdin) == 1 && fread(&len, 4, 1, stdin) == 1) {
        char *text = calloc(len + 1, 1);
        if (fread(text, 1, len, stdin) != len) return 1;
        char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
        int err[4];
        errno = 0;
        long a = strtol(text, &e1, base);
        err[0] = errno, errno = 0;
        unsigned long b = strtoul(text, &e2, base);
        err[1] = errno, errno = 0;
        long long c = strtoll(text, &e3, base);
        err[2] = errno, errno = 0;
        unsigned long long d = strtoull(text, &e4, base);
        err[3] = errno;
        printf("%ld %ld %d %lu %ld %d %lld %ld %d %llu %ld %d %d %ld\n", a, end_offset(text, e1),
               err[0], b, end_offset(text, e2), err[1], c, end_offset(text, e3), err[2], d,
               end_offset(text, e4), err[3], atoi(text), atol(text));
        free(text);
    }
    return 0;
}

static int rand_cases(void) {
    for (int k = 0; k < 3; k++) printf(k ? " %d" : "%d", rand());  /* one call per statement: */
    printf("\n");                                                  /* argument order is unspecified */
    uint32_t seed;
    while (fread(&seed, 4, 1, stdin) == 1) {
        srand(seed);
        for (int k = 0; k < 5; k++) printf(k ? " %d" : "%d", rand());
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "strto") == 0) return strto_cases();
    if (argc > 1 && strcmp(argv[1], "rand") == 0) return rand_cases();
    int (*fns[])(int) = {isdigit, isalpha, isspace, isalnum, isupper, islower,
                         isxdigit, isprint, ispunct, toupper, tolower};
    for (int c = -128; c < 256; c++) {
        printf("%d", c);
        for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) printf(" %d", fns[k](c));
        printf(" %d %d %d", (*__ctype_b_loc())[c], (*__ctype_toupper_loc())[c],
               (*__ctype_tolower_loc())[c]);
        printf("\n");
    }
    return 0;
}
