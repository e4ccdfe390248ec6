/* stdout, stderr and environ are libc data objects: a non-PIE executable COPYs them. */
#include <stdio.h>
#include <stdlib.h>
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
    /* The library must use the executable's copies: reassigning them redirects it. */
    static char *custom[] = {"GREETING=changed", 0};
    environ = custom;
    printf("getenv after reassigning environ: %s\n", getenv("GREETING"));
    fflush(stdout);
    stdout = stderr;
    printf("printf after stdout = stderr\n");
    return count;
}
