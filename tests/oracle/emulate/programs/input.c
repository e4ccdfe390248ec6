/* Reading stdin: getchar, ungetc, fgets, fread, read, and end of file. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    int first = getchar();
    ungetc(first, stdin);
    char line[8];
    int lines = 0;
    while (fgets(line, sizeof line, stdin)) {
        printf("[%s] %zu\n", line, strlen(line));
        if (++lines == 3) break;
    }
    char block[5] = {0};
    size_t got = fread(block, 2, 2, stdin);
    printf("fread %zu [%.4s]\n", got, block);
    char raw[64];
    ssize_t n = read(0, raw, sizeof raw);
    printf("read %zd, then getchar %d, fileno %d\n", n, getchar(), fileno(stdin));
    return first;
}
