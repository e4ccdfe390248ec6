/* Misbehaviour chosen by argv[1]: each must become a reported fault, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *volatile bad_pointer = (const char *)16;

static const char message[] = "read-only";

int main(int argc, char **argv) {
    (void)argc;
    switch (argv[1][0]) {
    case 'n': return *(volatile int *)16;                      /* unmapped read */
    case 'w': *(volatile char *)message = 'X'; return 1;         /* write to .rodata */
    case 'x': return ((int (*)(void))(void *)message)();         /* execute .rodata */
    case 'a': puts("aborting"); fflush(stdout); abort();
    case 'j': return ((int (*)(void))(void *)0x1234)();          /* jump to nowhere */
    case 's': return (int)strlen(bad_pointer);                   /* bad pointer to libc */
    }
    return 0;
}
