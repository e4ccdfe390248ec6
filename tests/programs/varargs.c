/* Variadic functions of our own (va_list, va_copy) and libc's vsnprintf. */
#include <stdarg.h>
#include <stdio.h>

static long sum(int count, ...)
{
    va_list ap;
    long total = 0;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        total += va_arg(ap, int);
    va_end(ap);
    return total;
}

static double mean(int count, ...)
{
    va_list ap, again;
    double total = 0;
    va_start(ap, count);
    va_copy(again, ap);
    for (int i = 0; i < count; i++)
        total += va_arg(ap, double);
    double first = count ? va_arg(again, double) : 0;
    va_end(again);
    va_end(ap);
    return count ? total / count + first * 0 : 0;
}

static void logf_(const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("[%d] %s\n", n, buf);
}

int main(void)
{
    printf("%ld %ld %ld\n", sum(0), sum(3, 1, 2, 3), sum(8, 1, 2, 3, 4, 5, 6, 7, 8));
    printf("%.3f\n", mean(4, 1.0, 2.0, 3.5, 4.25));
    logf_("%s=%d, %s=%x, %c%c", "a", 1, "b", 255, 'o', 'k');
    logf_("many: %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6, 7, 8, 9);
    return 0;
}
