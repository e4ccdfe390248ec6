/* The glibc extensions GNU programs import, printed so that a native run and an emulated
   one can be compared: program names, gettext without catalogues, nl_langinfo, the C
   locale's multibyte and wide characters, locale handles, strtold, strtoimax/umax,
   mempcpy, rawmemchr, reallocarray, __fpending/__freading, __memmove_chk (when built
   with _FORTIFY_SOURCE), then error() and error_at_line(), the last exiting with 3. */
#define _GNU_SOURCE
#include <errno.h>
#include <error.h>
#include <inttypes.h>
#include <langinfo.h>
#include <libintl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

extern char *__progname, *__progname_full;

static void show_strtold(const char *text) {
    char *end;
    errno = 0;
    long double value = strtold(text, &end);
    printf("strtold(%s) = %.21Lg %La used=%d errno=%d\n", text, value, value,
           (int)(end - text), errno);
}

static void show_mb(const char *s, size_t n) {
    mbstate_t state;
    memset(&state, 0, sizeof state);
    wchar_t wc = 0x55;
    errno = 0;
    size_t r = mbrtowc(&wc, s, n, &state);
    printf("mbrtowc(%02x, %zu) = %ld wc=%x errno=%d mbrlen=%ld\n", (unsigned char)s[0], n,
           (long)r, (unsigned)wc, errno, (long)mbrlen(s, n, &state));
}

__attribute__((noinline)) static int fortified_vformat(char *dst, size_t size,
                                                     const char *fmt, ...) {
    char buf[24];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size < sizeof buf ? size : sizeof buf, fmt, ap);  /* __vsnprintf_chk */
    va_end(ap);
    strcpy(dst, buf);
    return n;
}

__attribute__((noinline)) static int fortified_move(char *dst, const char *src, size_t n) {
    char buf[32];
    memmove(buf, src, n);  /* __memmove_chk under _FORTIFY_SOURCE */
    buf[n] = 0;
    return sprintf(dst, "[%s]", buf);
}

int main(int argc, char **argv) {
    (void)argc;
    setlocale(LC_ALL, "");
    printf("short=%s same=%d full_same=%d\n", program_invocation_short_name,
           __progname == program_invocation_short_name,
           strcmp(__progname_full, argv[0]) == 0 && program_invocation_name == argv[0]);
    printf("textdomain=%s bind=%s\n", textdomain("coreutils"), bindtextdomain("coreutils", "/x"));
    printf("textdomain(NULL)=%s gettext=%s d=%s dc=%s n1=%s n2=%s\n", textdomain(NULL),
           gettext("msg"), dgettext("d", "dmsg"), dcgettext("d", "dcmsg", LC_MESSAGES),
           ngettext("one", "many", 1), dcngettext("d", "one", "many", 2, LC_MESSAGES));
    printf("langinfo: %s|%s|%s|%s|%s|%s|%s|%s|%s\n", nl_langinfo(CODESET),
           nl_langinfo(RADIXCHAR), nl_langinfo(THOUSEP), nl_langinfo(D_T_FMT),
           nl_langinfo(DAY_3), nl_langinfo(ABMON_12), nl_langinfo(YESEXPR),
           nl_langinfo(_DATE_FMT), nl_langinfo(ERA));
    printf("MB_CUR_MAX=%zu mbsinit=%d\n", MB_CUR_MAX, mbsinit(NULL) != 0);
    show_mb("A", 1);
    show_mb("\xe9", 1);
    show_mb("", 1);
    show_mb("B", 0);
    printf("btowc %d %d %d wctob %d %d\n", btowc('A'), btowc(0xe9), btowc(EOF), wctob(L'a'),
           wctob(0xe9));
    for (wint_t wc = 0; wc < 0x100; wc += 0x11)
        printf("%x:%d%d%d%d%d%d%d%d%d w%d %x %x|", wc, !!iswprint(wc), !!iswspace(wc),
               !!iswcntrl(wc), !!iswalnum(wc), !!iswalpha(wc), !!iswupper(wc),
               !!iswpunct(wc), !!iswctype(wc, wctype("xdigit")), !!iswblank(wc),
               wcwidth(wc), towupper(wc), towlower(wc));
    printf("\nwctype(bogus)=%d\n", wctype("bogus") == 0);
    char out[4] = "...";
    mbstate_t state;
    memset(&state, 0, sizeof state);
    errno = 0;
    long a = (long)wcrtomb(out, L'Z', &state);
    long b = (long)wcrtomb(out + 1, 0xe9, &state);
    printf("wcrtomb %ld %ld errno=%d out=%s\n", a, b, errno, out);
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    printf("newlocale=%d uselocale=%d", c != 0, uselocale(c) == LC_GLOBAL_LOCALE);
    printf(" now=%d", uselocale((locale_t)0) == c);
    uselocale(LC_GLOBAL_LOCALE);
    freelocale(c);
    errno = 0;
    printf(" bogus=%d errno=%d\n", newlocale(LC_ALL_MASK, "xx_YY.nope", (locale_t)0) == 0,
           errno);
    const char *numbers[] = {"1.5", "0.1", "  -42abc", "1e4000", "1e5000", "-0x1.8p3", "inf", "nan",
                             "abc", "3.", ".5e-2x", "0x", "1e-4950", "0x1p-16445",
                             "1e999999999999", "-1e-99999", "0x1.fffffffffffffffffp16383"};
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
        show_strtold(numbers[i]);
    printf("strtoumax=%ju strtoimax=%jd\n", strtoumax("18446744073709551615", NULL, 10),
           strtoimax("-9223372036854775808", NULL, 0));
    char buf[16];
    char *end = mempcpy(buf, "hello", 5);
    *end = 0;
    printf("mempcpy=%s +%d rawmemchr=+%d\n", buf, (int)(end - buf),
           (int)((char *)rawmemchr(buf, 'l') - buf));
    errno = 0;
    volatile size_t huge = SIZE_MAX / 2;
    void *big = reallocarray(NULL, huge, 4);
    int *small = reallocarray(NULL, 4, sizeof(int));
    printf("reallocarray overflow=%p errno=%d small=%d\n", big, errno, small != NULL);
    free(small);
    char *cwd = getcwd(NULL, 0);  /* malloc'd: freeing it is the caller's (pwd does) */
    printf("getcwd(NULL, 0) absolute=%d\n", cwd != NULL && cwd[0] == '/');
    free(cwd);
    char moved[40];
    fortified_move(moved, "fortified", strlen(argv[0]) > 1000 ? 1 : 9);
    printf("%s\n", moved);
    char formatted[24];
    int length = fortified_vformat(formatted, strlen(argv[0]) > 1000 ? 4 : 10, "%s-%d",
                                   "vsn", 12345);
    printf("vsnprintf_chk=%d %s\n", length, formatted);
    printf("strchrnul=+%d +%d index=+%d rindex=+%d\n", (int)(strchrnul(buf, 'l') - buf),
           (int)(strchrnul(buf, 'z') - buf), (int)(index(buf, 'l') - buf),
           (int)(rindex(buf, 'l') - buf));
    srandom(7);
    long r1 = random(), r2 = random();
    srand(7);
    printf("random %ld %ld rand-same=%d\n", r1, r2, rand() == r1);
    printf("mblen %d %d %d\n", mblen("A", 1), mblen("\xe9", 1), mblen(NULL, 0));
    stack_t old;
    memset(&old, 0x55, sizeof old);
    int altstack = sigaltstack(NULL, &old);
    printf("sigaltstack %d disabled=%d size=%zu\n", altstack, old.ss_flags == SS_DISABLE,
           old.ss_size);
    fflush(stdout);
    printf("pending");
    size_t pending = __fpending(stdout);
    printf(" %zu freading(stdin)=%d freading(stdout)=%d\n", pending, __freading(stdin) != 0,
           __freading(stdout) != 0);
    error(0, ENOENT, "%s %d", "first", 1);
    error_at_line(0, 0, "file.c", 12, "at %s", "line");
    error_at_line(0, EINVAL, NULL, 0, "no file");
    printf("before exit (flushed by error)\n");
    program_invocation_name = "renamed";
    error(3, EACCES, "bye %s", "now");
    printf("not reached\n");
    return 0;
}
