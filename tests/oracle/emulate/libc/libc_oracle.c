/* Native oracle for the emulator's <ctype.h> and strto* functions (glibc, C locale).
 *
 * "ctype": for every c in -128..255 prints one line: c, then isdigit isalpha isspace
 *          isalnum isupper islower isxdigit isprint ispunct toupper tolower of c, called
 *          through function pointers so the library functions run, not the macros; then
 *          the raw entries of glibc's class, toupper and tolower tables for c.
 * "strto": reads cases from stdin until EOF (little-endian i32 base, u32 length, bytes)
 *          and prints per case: strtol end strtoul end strtoll end strtoull end atoi atol,
 *          where end is the end pointer's offset, or -1 when it was left untouched.
 */
#include <ctype.h>
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
        long a = strtol(text, &e1, base);
        unsigned long b = strtoul(text, &e2, base);
        long long c = strtoll(text, &e3, base);
        unsigned long long d = strtoull(text, &e4, base);
        printf("%ld %ld %lu %ld %lld %ld %llu %ld %d %ld\n", a, end_offset(text, e1), b,
               end_offset(text, e2), c, end_offset(text, e3), d, end_offset(text, e4),
               atoi(text), atol(text));
        free(text);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "strto") == 0) return strto_cases();
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
