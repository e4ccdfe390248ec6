/* Calls an import the emulated libc does not implement. */
#include <stdio.h>
#include <time.h>

int main(void) {
    puts("before");
    return (int)clock();
}
