/* Strings of megabytes through the emulated libc's string readers: strlen, strchr,
   strstr, strdup, fputs (each once read a string in 256-byte pieces and refused one past
   1 MiB as a fault). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t size = 24u << 20;
    char *s = malloc(size + 1);
    memset(s, 'a', size);
    s[size] = 0;
    s[size - 3] = 'b';
    char *copy = strdup(s);
    printf("strlen %zu\n", strlen(s));
    printf("strchr %td\n", strchr(s, 'b') - s);
    printf("strstr %td\n", strstr(s, "ab") - s);
    printf("strcmp %d\n", strcmp(s, copy) == 0);
    FILE *f = fopen("big", "w");
    fputs(s, f);
    printf("ftell %ld\n", ftell(f));
    fclose(f);
    return 0;
}
