/* glibc's inline stdio: getc_unlocked and putc_unlocked (which call __uflow and
   __overflow when the FILE's buffer pointers say so), under flockfile; fseeko64 and
   ftello64 on a file; stdin read to its end. */
#define _LARGEFILE64_SOURCE
#include <stdio.h>

int main(void) {
    int c, n = 0, sum = 0;
    flockfile(stdin);
    while ((c = getc_unlocked(stdin)) != EOF) {
        n++;
        sum += c;
    }
    funlockfile(stdin);
    printf("stdin: %d bytes, sum %d, eof %d\n", n, sum, feof(stdin) != 0);
    flockfile(stdout);
    for (const char *p = "put through putc_unlocked\n"; *p; p++)
        putc_unlocked(*p, stdout);
    funlockfile(stdout);
    printf("ftrylockfile: %d\n", ftrylockfile(stdout));
    funlockfile(stdout);
    FILE *f = tmpfile();
    fputs("0123456789abcdef", f);
    printf("fseeko64: %d\n", fseeko64(f, -6, SEEK_END));
    printf("ftello64: %lld\n", (long long)ftello64(f));
    printf("getc_unlocked: %c%c\n", getc_unlocked(f), getc_unlocked(f));
    printf("fseeko64 back: %d %lld\n", fseeko64(f, 3, SEEK_SET), (long long)ftello64(f));
    printf("read: %c\n", getc_unlocked(f));
    fclose(f);
    return 0;
}
