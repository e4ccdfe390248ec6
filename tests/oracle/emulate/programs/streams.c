/* stdout, stderr and environ are libc data objects: a non-PIE executable COPYs them. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    FILE *out = stdout;
    fprintf(out, "to stdout %d\n", 1);
    fprintf(stderr, "to stderr %s\n", "two");
    fputs("fputs line\n", stdout);
    fwrite("fwrite!\n", 1, 8, stdout);
    putchar('p');
    fputc('\n', stdout);
    fputc('E', stderr);
    fputc('\n', stderr);
    int count = 0;
    for (char **e = environ; *e; e++) {
        printf("env[%d] = %s (len %zu)\n", count, *e, strlen(*e));
        count++;
    }
    fflush(stdout);
    write(1, "raw write\n", 10);
    return count;
}
