/* Calls an import the emulated libc does not implement (getloadavg: a run has no load
   to report, and nothing here is meant to grow one). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    double load[3];
    puts("before");
    return getloadavg(load, 3);
}
