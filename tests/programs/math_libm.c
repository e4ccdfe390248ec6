/* libm through -lm: sqrt, sin, cos, pow, exp, log, atan2, fmod, on inputs the compiler cannot
 * fold (from argc), and a function pointer table of libm functions. */
#include <math.h>
#include <stdio.h>

static double (*const unary[])(double) = {sqrt, sin, cos, exp, log, fabs, floor, ceil};
static const char *const names[] = {"sqrt", "sin", "cos", "exp", "log", "fabs", "floor", "ceil"};

int main(int argc, char **argv)
{
    (void)argv;
    volatile double x = 1.75 * argc;
    for (int i = 0; i < 8; i++)
        printf("%-5s(%.2f) = %.6f\n", names[i], x, unary[i](x));
    printf("pow = %.6f\n", pow(x, 3.5));
    printf("atan2 = %.6f\n", atan2(x, -x));
    printf("fmod = %.6f\n", fmod(100.0 * x, 7.0));
    printf("hypot = %.6f\n", hypot(3.0 * x, 4.0 * x));
    printf("lround = %ld\n", lround(x * 1000.5));
    return 0;
}
