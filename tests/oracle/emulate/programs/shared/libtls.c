/* Thread-local variables in a shared library (general/local-dynamic: __tls_get_addr). */
__thread int lib_counter = 7;
__thread char lib_name[8] = "libtls";
static __thread int hidden = 100;

int lib_bump(int by) {
    lib_counter += by;
    hidden += 1;
    return lib_counter * 1000 + hidden;
}

const char *lib_name_of(void) { return lib_name; }
