/* The shared library: a data object and a function the executable reaches both ways. */
int lib_value = 10;
int lib_array[3] = {1, 2, 3};

int lib_get(void) { return lib_value; }
int *lib_value_addr(void) { return &lib_value; }
