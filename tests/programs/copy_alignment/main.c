/* COPY relocations must keep each copied object's alignment (compilers may use aligned
 * vector loads on a declared-aligned object) and size, and the library must see the copies. */
#include <stdint.h>
#include <stdio.h>

extern __attribute__((aligned(64))) double lib_vec[8];
extern char lib_odd;
extern __attribute__((aligned(16))) char lib_buf16[16];
extern __attribute__((aligned(32))) const int lib_const[4];
extern long lib_long;
double lib_vec_sum(void);

static const char *aligned(const void *p, uintptr_t a)
{
    return (uintptr_t)p % a == 0 ? "aligned" : "MISALIGNED";
}

int main(void)
{
    printf("lib_vec %s to 64, lib_buf16 %s to 16, lib_const %s to 32, lib_long %s\n",
           aligned(lib_vec, 64), aligned(lib_buf16, 16), aligned(lib_const, 32),
           aligned(&lib_long, sizeof(long)));
    printf("%c %s %d %ld\n", lib_odd, lib_buf16, lib_const[3], lib_long);
    lib_vec[7] = 100;
    printf("sum seen by the library: %.1f\n", lib_vec_sum());
    return 0;
}
