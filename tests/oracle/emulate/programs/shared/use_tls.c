/* The executable's own TLS (local exec) and the library's (initial exec: TPOFF). */
#include <stdio.h>

extern __thread int lib_counter;
__thread int own = 5;
int lib_bump(int by);
const char *lib_name_of(void);

int main(void) {
    printf("%d\n", lib_bump(3));
    lib_counter += 10;
    own += lib_counter;
    printf("%d %d %s %d\n", lib_counter, own, lib_name_of(), lib_bump(1));
    return own & 0x7f;
}
