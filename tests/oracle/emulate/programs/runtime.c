/* The runtime pieces a library call cannot fake with a pure function: setjmp/longjmp
   (also out of a qsort callback), signal handlers run by raise, setenv growing environ,
   the ctype tables behind the macros, setvbuf, and libm doubles. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf env;
static int depth_reached;
static volatile int signals_seen;

static void dive(int n) {
    depth_reached = n;
    if (n == 5) longjmp(env, 42);
    dive(n + 1);
}

static int escaping_compare(const void *a, const void *b) {
    (void)a; (void)b;
    longjmp(env, 7);
}

static void on_signal(int sig) { signals_seen += sig; }

int main(void) {
    int got = setjmp(env);
    if (got == 0) dive(0);
    printf("longjmp returned %d at depth %d\n", got, depth_reached);
    int v[] = {3, 1, 2};
    if ((got = setjmp(env)) == 0) qsort(v, 3, sizeof v[0], escaping_compare);
    printf("escaped qsort with %d\n", got);

    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    raise(SIGUSR1);
    printf("signals %d\n", signals_seen);

    setenv("ADDED", "yes", 0);
    setenv("B", "replaced", 1);
    setenv("B", "not again", 0);
    unsetenv("GREETING");
    printf("ADDED=%s B=%s GREETING=%s\n", getenv("ADDED"), getenv("B"),
           getenv("GREETING") ? getenv("GREETING") : "(unset)");

    const char *text = "Hi 42!";
    for (const char *p = text; *p; p++)
        printf("%c:%d%d%d%d%c ", *p, !!isalpha((unsigned char)*p), !!isdigit((unsigned char)*p),
               !!isspace((unsigned char)*p), !!ispunct((unsigned char)*p),
               toupper((unsigned char)*p));
    printf("\n");

    volatile double x = 2.5;
    printf("%.6f %.6f %.6f %.1f %ld\n", sqrt(x), pow(x, 3.0), atan2(x, -1.0), round(x), lround(-x));

    setvbuf(stdout, NULL, _IONBF, 0);
    printf("unbuffered ");
    fprintf(stderr, "to stderr\n");
    printf("done\n");
    return 3;
}
