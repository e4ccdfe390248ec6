/* A library calling an optional hook that the executable may define. */
__attribute__((weak)) int hook(void);

int call_hook(void) { return hook ? hook() : 0; }
