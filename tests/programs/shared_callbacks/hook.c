/* The library's own hook, which the executable's definition of hook overrides. */
const char *hook(void) { return "library's hook"; }
