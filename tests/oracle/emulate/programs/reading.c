/* Formatted and line input from stdin and from files, and the glibc functions shared with
   the emulated libSystem (strtod, atof, strtok, strerror, perror, llabs): checked against a
   native run with the same stdin and the same files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    int a = 0, b = 0;
    char word[32];
    int got = scanf("%d %d %31s", &a, &b, word);
    printf("scanf %d: %d %d %s\n", got, a, b, word);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) != -1) printf("line %zd: [%s]", n, line);
    printf("feof(stdin) %d, scanf at end %d\n", feof(stdin) != 0, scanf("%d", &a));
    FILE *f = fopen("numbers.txt", "w");
    fprintf(f, "3 1.5 x\n4 2.25 y\nrest;of;it");
    fclose(f);
    f = fopen("numbers.txt", "r");
    int k; double d; char c;
    while (fscanf(f, "%d %lf %c", &k, &d, &c) == 3) printf("fscanf %d %.2f %c\n", k, d, c);
    n = getdelim(&line, &cap, ';', f);
    printf("getdelim %zd [%s]\n", n, line);
    fclose(f);
    free(line);
    char text[] = "alpha,beta,,gamma";
    for (char *t = strtok(text, ","); t; t = strtok(NULL, ",")) printf("token %s\n", t);
    char *end;
    double parsed = strtod("  -12.5e1xyz", &end);  /* before `end` is read */
    printf("strtod %.3f rest [%s] atof %.2f llabs %lld\n", parsed, end, atof("3.25"),
           llabs(-9000000000LL));
    printf("strerror %s\n", strerror(ENOENT));
    errno = ENOENT;
    fflush(stdout);
    perror("perror says");
    return 0;
}
