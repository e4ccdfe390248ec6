/* Weak undefined references next to a shared library: the ones the library defines bind to
 * it (through the PLT/GOT as usual); the ones nobody defines stay NULL, with no dynamic
 * relocation that ld.so could fail on.  lib_name, referenced strongly, keeps the library
 * needed under the --as-needed that Debian's gcc passes (weak references alone do not). */
#include <stdio.h>

extern int provided(int) __attribute__((weak));
extern int provided_data __attribute__((weak));
extern int absent(int) __attribute__((weak));
extern int absent_data __attribute__((weak));
const char *lib_name(void);

int main(void)
{
    printf("%s\n", lib_name());
    printf("provided: %s", provided ? "bound" : "NULL");
    if (provided)
        printf(" -> %d", provided(1));
    printf("\nprovided_data: %s", &provided_data ? "bound" : "NULL");
    if (&provided_data)
        printf(" -> %d", provided_data);
    printf("\nabsent: %s\n", absent ? "bound" : "NULL");
    printf("absent_data: %s\n", &absent_data ? "bound" : "NULL");
    return 0;
}
