/* The C locale: setlocale's answers, localeconv's fields, strcoll's order. */
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

static int sign(int v) { return (v > 0) - (v < 0); }

int main(void) {
    const char *got = setlocale(LC_ALL, NULL);
    printf("query: %s\n", got ? got : "(null)");
    got = setlocale(LC_ALL, "");
    printf("from environment: %s\n", got ? got : "(null)");
    got = setlocale(LC_NUMERIC, "C");
    printf("C: %s\n", got ? got : "(null)");
    got = setlocale(LC_ALL, "xx_NOWHERE.UTF-8");
    printf("unknown: %s\n", got ? got : "(null)");
    struct lconv *lc = localeconv();
    printf("decimal_point=[%s] thousands_sep=[%s] grouping=%zu currency=[%s] sign=[%s%s]\n",
           lc->decimal_point, lc->thousands_sep, strlen(lc->grouping), lc->currency_symbol,
           lc->positive_sign, lc->negative_sign);
    printf("frac_digits=%d int_frac_digits=%d max=%d same struct=%d\n", lc->frac_digits,
           lc->int_frac_digits, lc->n_sign_posn == CHAR_MAX, lc == localeconv());
    printf("strcoll: %d %d %d %d\n", sign(strcoll("apple", "banana")),
           sign(strcoll("b", "B")), sign(strcoll("same", "same")), sign(strcoll("ab", "a")));
    return 0;
}
