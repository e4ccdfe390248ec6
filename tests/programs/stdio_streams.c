/* stdout and stderr are data objects of libc: a non-PIE reference gets a COPY relocation. */
#include <stdio.h>
#include <string.h>

static void report(FILE *stream, const char *what, int n)
{
    fprintf(stream, "%s: %d\n", what, n);
}

int main(void)
{
    FILE *streams[2] = {stdout, stderr};
    report(stdout, "to stdout", 1);
    report(stderr, "to stderr", 2);
    for (int i = 0; i < 2; i++)
        fprintf(streams[i], "stream %d is %s\n", i, streams[i] == stdout ? "stdout" : "stderr");
    fputs("fputs to stderr\n", stderr);
    fwrite("fwrite\n", 1, strlen("fwrite\n"), stdout);
    fflush(stdout);
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("unbuffered now: %d\n", stdout != stderr);
    return 0;
}
