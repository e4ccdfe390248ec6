/* A spread of the libc a small real program calls (qsort, strdup, div, math, strtol,
   calloc/realloc, string functions, getenv, rand...): compared with a native run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <math.h>
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <inttypes.h>
typedef struct { char name[16]; int score; } Rec;
static int cmp(const void *a, const void *b) { return ((const Rec*)b)->score - ((const Rec*)a)->score; }
int main(int argc, char **argv) {
    Rec r[5];
    for (int i = 0; i < 5; i++) { snprintf(r[i].name, sizeof r[i].name, "p%d", i); r[i].score = (i * 37) % 11; }
    qsort(r, 5, sizeof r[0], cmp);
    for (int i = 0; i < 5; i++) printf("%-4s %3d\n", r[i].name, r[i].score);
    char *s = strdup("Hello, World"); for (char *p = s; *p; p++) *p = toupper((unsigned char)*p); puts(s); free(s);
    div_t d = div(17, 5); ldiv_t ld = ldiv(-17L, 5L); lldiv_t lld = lldiv(-9000000001LL, 7LL);
    printf("div %d %d ldiv %ld %ld lldiv %lld %lld\n", d.quot, d.rem, ld.quot, ld.rem, lld.quot, lld.rem);
    printf("math %.4f %.4f %.4f %.4f %.4f %.4f %.4f\n", sqrt(2.0), pow(2, 0.5), exp(1.0), log(10.0), sin(1.0), atan2(1, 2), fmod(7.5, 2));
    printf("round %.1f %.1f %.1f %ld\n", floor(-1.5), ceil(-1.5), round(2.5), lround(-2.5));
    uint64_t big = UINT64_MAX; int64_t neg = INT64_MIN;
    printf("%" PRIu64 " %" PRId64 " %#llx %+.3e %g\n", big, neg, 0xdeadbeefULL, 12345.678, 1e-5);
    char buf[64]; int n = sprintf(buf, "%08.3f|%-6s|%c", 3.14159, "ab", 'z'); printf("%d [%s]\n", n, buf);
    long v = strtol("  -0x1f rest", NULL, 16); unsigned long u = strtoul("777", NULL, 8); printf("%ld %lu %d\n", v, u, atoi("42abc"));
    int *arr = calloc(10, sizeof *arr); arr = realloc(arr, 20 * sizeof *arr); arr[19] = 5; printf("arr %d %d\n", arr[0], arr[19]); free(arr);
    char t[32] = "abc"; strcat(t, "def"); strncat(t, "ghijk", 2); printf("%s %zu %d %s\n", t, strlen(t), strcmp(t, "abd"), strstr(t, "cd"));
    printf("%s\n", getenv("HOME") ? "home set" : "no home");
    assert(argc >= 1);
    printf("abs %d labs %ld llabs %lld fabs %.1f\n", abs(-3), labs(-4L), llabs(-5LL), fabs(-6.5));
    fprintf(stderr, "to stderr %d\n", 1);
    int x = rand() % 100; srand(7); int y = rand() % 100; printf("rand %d %d\n", x, y);
    memmove(buf + 1, buf, 5); buf[6] = 0; printf("memmove %s %d\n", buf, memcmp("ab", "ac", 2) < 0);
    printf("ctype %d %d %d %d\n", isalpha('a') != 0, isdigit('5') != 0, isspace('\t') != 0, ispunct('!') != 0);
    return 3;
}
