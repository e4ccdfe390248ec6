/* frexp, ldexp and modf (libc.so.6 exports them too: this program is linked without
   relying on libm for them), and sigset_t's functions. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>

int main(void) {
    double values[] = {0.0, -0.0, 1.0, 0.1, -1234.5678, 1e300, 5e-324, INFINITY, -INFINITY};
    for (unsigned i = 0; i < sizeof values / sizeof *values; i++) {
        int e = -99;
        double m = frexp(values[i], &e), whole = -1;
        double f = modf(values[i], &whole);
        printf("%a: frexp %a %d, modf %a %a, ldexp %a %a %a\n", values[i], m, e, f, whole,
               ldexp(values[i], 3), ldexp(values[i], -1075), ldexp(values[i], 2000));
    }
    int e;
    double m = frexp(NAN, &e);
    printf("nan: %d %d\n", isnan(m), isnan(ldexp(NAN, 4)));
    sigset_t set;
    printf("sigemptyset %d:", sigemptyset(&set));
    for (int s = 1; s <= 64; s += 9)
        printf(" %d", sigismember(&set, s));
    int added = sigaddset(&set, SIGINT), added64 = sigaddset(&set, 64);
    printf("\nsigaddset %d %d %d\n", added, added64, sigismember(&set, SIGINT));
    printf("members: %d %d\n", sigismember(&set, 64), sigismember(&set, 63));
    int deleted = sigdelset(&set, SIGINT);
    printf("after del: %d %d\n", deleted, sigismember(&set, SIGINT));
    errno = 0;
    int bad = sigaddset(&set, 0);
    printf("bad signal: %d errno=%d\n", bad, errno);
    sigfillset(&set);
    printf("filled: %d %d\n", sigismember(&set, 1), sigismember(&set, 40));
    return 0;
}
