/* Allocates 64 KiB blocks until malloc fails (or 1000 succeed): the memory cap bounds it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    int n = 0;
    char *last = 0;
    while (n < 1000) {
        char *p = malloc(65536);
        if (!p) break;
        memset(p, n & 0xff, 65536);
        last = p;
        n++;
    }
    printf("%d blocks, last byte %d\n", n, last ? last[65535] : -1);
    return n & 0xff;
}
