/* The smallest libc program: one PLT32 call to puts, the exit status through main's return. */
#include <stdio.h>

int main(void)
{
    puts("hello, corpus");
    return 3;
}
