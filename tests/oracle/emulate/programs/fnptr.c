/* Pointers to libc functions stored in data (canonical PLT entries, R_*_64/32 and
   GLOB_DAT), calls through them, and the heap and string functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int (*const table[])(const char *) = { puts };
int (*printers[2])(const char *, ...) = { printf, 0 };
void *(*allocate)(size_t) = malloc;

static int call_via(int (*f)(const char *), const char *s) { return f(s); }

int main(void) {
    table[0]("through a const table");
    printers[0]("through a writable table: %d\n", 42);
    char *p = allocate(32);
    strcpy(p, "heap");
    strcat(p, " string");
    printf("%s %zu %d\n", p, strlen(p), strcmp(p, "heap") > 0);
    char *q = realloc(p, 100);
    memset(q + 11, 'x', 5);
    q[16] = 0;
    puts(q);
    free(q);
    int *z = calloc(4, sizeof(int));
    printf("calloc %d %d\n", z[0], z[3]);
    free(z);
    printf("same function: %d\n", table[0] == puts && printers[0] == printf);
    return call_via(puts, "via argument") > 0 ? 5 : 6;
}
