/* Built as a shared library with no DT_SONAME, named on the link line by a path. */
int nos_value(void) { return 42; }
