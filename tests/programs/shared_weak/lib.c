/* A shared library defining one of the functions the executable references weakly, and one
 * it references strongly (so that the library is needed even under gcc's --as-needed). */
int provided(int x) { return x + 1000; }
int provided_data = 55;
const char *lib_name(void) { return "libweak"; }
