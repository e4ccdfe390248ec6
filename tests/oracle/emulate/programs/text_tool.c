/* A small text tool: counts words of stdin, string and stdio calls, a variadic logger on
   stderr, getpid, write(2) after fflush: compared with a native run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <unistd.h>
static void logf_(const char *fmt, ...) { va_list ap; va_start(ap, fmt); vfprintf(stderr, fmt, ap); va_end(ap); }
static int icmp(const void *a, const void *b) { return *(const int*)a - *(const int*)b; }
int main(void) {
    int v[] = {5, 3, 9, 1}; qsort(v, 4, sizeof v[0], icmp);
    int key = 9; int *hit = bsearch(&key, v, 4, sizeof v[0], icmp); printf("bsearch %ld\n", hit ? (long)(hit - v) : -1L);
    char line[128]; int words = 0, chars = 0;
    while (fgets(line, sizeof line, stdin)) { chars += strlen(line); for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n")) words++; }
    printf("words %d chars %d\n", words, chars);
    printf("%s %s %s\n", strchr("hello", 'l'), strrchr("hello", 'l'), strpbrk("hello", "lo"));
    printf("%zu %zu %lld %llu\n", strspn("aabbc", "ab"), strcspn("hello", "l"), strtoll("-123456789012", NULL, 10), strtoull("18446744073709551615", NULL, 10));
    logf_("log %s %d\n", "msg", 7);
    char *p = malloc(100); memset(p, 'x', 99); p[99] = 0; printf("%zu %c\n", strlen(p), *(char*)memchr(p, 'x', 100)); free(p);
    printf("%5.1f%% %x %o %e\n", 99.5, 255, 8, 0.000123);
    printf("pid positive %d\n", getpid() > 0);
    putchar('!'); putchar('\n');
    fputs("done\n", stdout);
    fflush(stdout);
    write(1, "raw\n", 4);
    exit(0);
}
