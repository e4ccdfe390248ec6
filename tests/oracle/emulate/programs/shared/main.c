#include <stdio.h>

extern int shared_counter;
int bump(int by);
int apply(int (*f)(int), int v);
int crash(const int *p);

const char *greeting(void) { return "executable's greeting"; }

static int square(int v) { return v * v; }

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) return crash(0);
    printf("main: counter %d\n", shared_counter);
    bump(2);
    printf("main: counter now %d\n", shared_counter);
    printf("main: apply %d\n", apply(square, 3));
    return shared_counter;
}
