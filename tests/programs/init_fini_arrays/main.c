/* Hand-made .preinit_array, .init_array and .fini_array entries: the linker must keep each
 * table whole, concatenate the objects' pieces in command-line order, and define the
 * __*_array_start/end bounds that crt and ld.so use.  The pairs are explicitly aligned(8):
 * compilers align 16-byte objects to 16, which would leave a zero (fatal) entry as padding
 * after crtbegin's 8-byte entry. */
#include <stdio.h>
#include <unistd.h>

typedef void (*entry)(void);
struct pair {
    entry first, second;
};

char init_log[256];
int init_log_len;

void note(const char *s)
{
    while (*s && init_log_len < 255)
        init_log[init_log_len++] = *s++;
}

static void pre1(void) { note("P1 "); }
static void pre2(void) { note("P2 "); }
static void init1(void) { note("I1 "); }
static void init2(void) { note("I2 "); }
/* stdio may already be torn down when .fini_array runs; write(2) always works */
static void fini1(void) { write(1, "F1\n", 3); }
static void fini2(void) { write(1, "F2 ", 3); }

__attribute__((section(".preinit_array"), used, aligned(8))) static const struct pair preinit = {pre1, pre2};
__attribute__((section(".init_array"), used, aligned(8))) static const struct pair init = {init1, init2};
__attribute__((section(".fini_array"), used, aligned(8))) static const struct pair fini = {fini1, fini2};

int main(void)
{
    init_log[init_log_len] = 0;
    printf("before main: %s\n", init_log);
    fflush(stdout);
    return 0;
}
