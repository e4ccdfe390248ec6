/* A tour of the emulated libc's pure functions, printed so that a native run and an
 * emulated run of the same binary can be compared byte for byte.  Built with -fno-builtin
 * so that gcc calls the library instead of folding the calls, and with -D__NO_CTYPE so that
 * <ctype.h> calls the functions instead of reading glibc's tables inline (that needs
 * __ctype_b_loc and friends).  No addresses are printed. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sign(int v) { return (v > 0) - (v < 0); }

static int say(const char *fmt, ...) {
    va_list ap;
    char small[16];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" <%s|%d>\n", small, n);
    return n;
}

static void numbers(void) {
    const char *texts[] = {"  -123xyz", "0x1fG", "0777", "99999999999999999999", "-0x80000000",
                           "  +42", "zz", "", "4294967296", "-9223372036854775808"};
    const int bases[] = {10, 0, 0, 10, 16, 0, 36, 10, 10, 10};
    for (unsigned i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *e1, *e2, *e3, *e4;
        long a = strtol(texts[i], &e1, bases[i]);
        unsigned long b = strtoul(texts[i], &e2, bases[i]);
        long long c = strtoll(texts[i], &e3, bases[i]);
        unsigned long long d = strtoull(texts[i], &e4, bases[i]);
        printf("%ld@%d %lu@%d %lld@%d %llu@%d %d %ld\n", a, (int)(e1 - texts[i]), b,
               (int)(e2 - texts[i]), c, (int)(e3 - texts[i]), d, (int)(e4 - texts[i]),
               atoi(texts[i]), atol(texts[i]));
    }
    printf("abs %d %d labs %ld\n", abs(-7), abs(5), labs(-1234567L));
}

static void strings(void) {
    char a[64], b[64];
    strcpy(a, "hello");
    strcat(a, ", world");
    strncpy(b, a, 5);
    b[5] = 0;
    strncat(b, "!!!???", 3);
    printf("%s|%s|%zu %zu %zu\n", a, b, strlen(a), strnlen(a, 3), strnlen(a, 99));
    printf("cmp %d %d %d %d %d\n", sign(strcmp(a, b)), sign(strcmp(b, a)), sign(strcmp(a, a)),
           sign(strncmp(a, b, 5)), sign(strncmp("abc", "abd", 3)));
    printf("find %d %d %d %d %d\n", (int)(strchr(a, 'o') - a), (int)(strrchr(a, 'o') - a),
           strchr(a, 'q') == NULL, (int)(strstr(a, "wor") - a), strstr(a, "xyz") == NULL);
    char *copy = strdup(a);
    copy[0] = 'J';
    printf("dup %s %s\n", copy, a);
    free(copy);
    memcpy(b, "0123456789", 11);
    memmove(b + 2, b, 6);
    printf("move %s\n", b);
    memset(b, '#', 3);
    printf("set %s cmp %d %d chr %d %d\n", b, sign(memcmp(b, "###", 3)), sign(memcmp(b, "$", 1)),
           (int)((char *)memchr(b, '5', 10) - b), memchr(b, 'x', 10) == NULL);
}

static void more_strings(void) {
    char a[64] = "  key=value; other=thing";
    char *end = stpcpy(a + 30, "tail");
    printf("stp %d %s\n", (int)(end - a), a + 30);
    printf("case %d %d %d\n", sign(strcasecmp("HeLLo", "hello")), sign(strcasecmp("a", "B")),
           sign(strncasecmp("abcX", "ABCy", 3)));
    printf("span %zu %zu %d\n", strspn(a, " "), strcspn(a, "=;"), (int)(strpbrk(a, ";=") - a));
    char *save, *tok = strtok_r(a, " =;", &save);
    while (tok) {
        printf("[%s]", tok);
        tok = strtok_r(NULL, " =;", &save);
    }
    char *part = strndup("abcdef", 3), *text;
    int n = asprintf(&text, "%s/%05.1f", part, 2.25);
    printf(" %s %s %d %d\n", part, text, n, (int)((char *)memrchr(text, 'a', n) - text));
    free(part);
    free(text);
}

static void classes(void) {
    int (*fns[])(int) = {isdigit, isalpha, isspace, isalnum, isupper, islower, isxdigit,
                         isprint, ispunct};
    for (unsigned k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        unsigned long sum = 0;
        for (int c = -1; c < 256; c++) sum = sum * 31 + (fns[k](c) != 0);
        printf("%lx ", sum);
    }
    printf("%c%c%c%c %d\n", toupper('a'), tolower('Q'), toupper('5'), tolower('z'), toupper(-1));
}

static void heap(void) {
    int *v = calloc(8, sizeof *v);
    long total = 0;
    for (int i = 0; i < 8; i++) total += v[i];
    for (int i = 0; i < 8; i++) v[i] = i * i;
    v = realloc(v, 1000 * sizeof *v);
    for (int i = 0; i < 8; i++) total += v[i];
    char *s = malloc(32);
    snprintf(s, 32, "%ld", total);
    printf("heap %s\n", s);
    free(s);
    free(v);
}

int main(void) {
    say("%d %5.2f %-8s|%x %s %c %e %g %a %%", -42, 3.14159, "left", 255u, (char *)0, 'z',
        1e-300, 0.0001, 1.0);
    say("%lld %llu %zu %hhd %#o %+.3d %p", -1LL << 40, ~0ULL, sizeof(long), 300, 8, 7,
        (void *)0);
    char buf[64];
    int n = snprintf(buf, 10, "%s-%s", "abcdef", "ghijkl");
    printf("%s %d\n", buf, n);
    sprintf(buf, "[%*d|%-*.*s]", 6, 42, 8, 3, "truncate");
    puts(buf);
    numbers();
    strings();
    more_strings();
    classes();
    heap();
    int r1 = rand();
    srand(2024);
    int r2 = rand();
    printf("rand %d %d\n", r1, r2);
    fputs("to stderr\n", stderr);
    fprintf(stderr, "%s %d\n", "err", 2);
    putchar('o');
    putchar('k');
    fputc('\n', stdout);
    fwrite("written\n", 1, 8, stdout);
    fflush(stdout);
    return 3;
}
