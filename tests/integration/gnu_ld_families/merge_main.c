/* SHF_MERGE|SHF_STRINGS: equal narrow, wide, UTF-16 and UTF-32 literals of two objects
   are one copy, and a pointer into the middle of a string stays inside it. */
#include <stdio.h>
#include <wchar.h>
#include <uchar.h>
const char *narrow_a(void);
const wchar_t *wide_a(void);
const char16_t *u16_a(void);
const char32_t *u32_a(void);
const char *middle_a(void);
const double *pi_a(void);
int main(void) {
    const char *n = "merged narrow string";
    const wchar_t *w = L"merged wide string";
    const char16_t *u = u"merged utf-16 string";
    const char32_t *U = U"merged utf-32 string";
    static const double pi = 3.14159265358979;
    printf("narrow %s\n", n == narrow_a() ? "same" : "different");
    printf("wide %s\n", w == wide_a() ? "same" : "different");
    printf("utf-16 %s\n", u == u16_a() ? "same" : "different");
    printf("utf-32 %s\n", U == u32_a() ? "same" : "different");
    printf("middle %s %s\n", middle_a(), middle_a() == n + 7 ? "inside" : "elsewhere");
    printf("%s %ls\n", n, w);
    return 0;
}
