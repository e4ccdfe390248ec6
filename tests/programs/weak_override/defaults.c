/* The weak defaults: hook and setting are overridden in strong.c, name and fallback_only not. */
__attribute__((weak)) int hook(int x) { return -x; }
__attribute__((weak)) const char *name(void) { return "weak default name"; }
__attribute__((weak)) int setting = 1;
__attribute__((weak)) int fallback_only = 11;
