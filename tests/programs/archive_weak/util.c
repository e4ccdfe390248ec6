/* Archive member pulled by util_twice; its weak util_name loses to main's strong one, its
 * weak util_suffix is the only definition. */
__attribute__((weak)) const char *util_name(void) { return "archive's weak util_name"; }
__attribute__((weak)) int util_suffix(void) { return 0; }

int util_twice(int x) { return 2 * x + util_suffix(); }
