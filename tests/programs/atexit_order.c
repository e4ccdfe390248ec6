/* atexit handlers run last-registered first, then stdio is flushed; exit() from deep in the
 * call stack carries its status out. */
#include <stdio.h>
#include <stdlib.h>

static int depth;

static void h1(void) { printf("handler 1 (depth %d)\n", depth); }
static void h2(void) { printf("handler 2\n"); }
static void h3(void)
{
    printf("handler 3 registers nothing, sets depth\n");
    depth = -1;
}

static void descend(int n)
{
    depth = n;
    if (n == 5) {
        printf("exiting at depth %d\n", n);
        exit(7);
    }
    descend(n + 1);
}

int main(void)
{
    atexit(h1);
    atexit(h2);
    atexit(h3);
    printf("registered\n");
    descend(0);
    printf("not reached\n");
    return 0;
}
