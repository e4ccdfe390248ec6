/* A real shared library: its own PLT calls into libc, data the executable COPYs, a
   constructor and destructor, a callback into the executable, and interposition. */
#include <stdio.h>

int shared_counter = 40;
static int calls;

__attribute__((constructor)) static void lib_init(void) { puts("lib: constructor"); }
__attribute__((destructor)) static void lib_fini(void) { printf("lib: destructor after %d calls\n", calls); }

__attribute__((weak)) const char *greeting(void) { return "library's greeting"; }

int bump(int by) {
    calls++;
    shared_counter += by;
    printf("lib: bump(%d) -> %d, %s\n", by, shared_counter, greeting());
    return shared_counter;
}

int apply(int (*f)(int), int v) { calls++; return f(v) + f(v + 1); }

int crash(const int *p) { return *p + calls; }
