/* stdio on files: every call of the family, checked by what it prints (run natively in a
   scratch directory, and emulated over an in-memory file system seeded the same way). */
#include <errno.h>
#include <stdio.h>

int main(int argc, char **argv) {
    const char *out = argc > 1 ? argv[1] : "out.txt";
    char buf[64];
    FILE *f = fopen(out, "w");
    if (!f) { printf("fopen w failed %d\n", errno); return 1; }
    fputs("line one\n", f);
    fprintf(f, "line %d\n", 2);
    fwrite("three\n", 1, 6, f);
    fputc('4', f);
    putc('\n', f);
    printf("ftell after writes %ld\n", ftell(f));
    printf("fclose %d\n", fclose(f));
    f = fopen(out, "r");
    while (fgets(buf, sizeof buf, f)) printf("read: %s", buf);
    printf("feof %d ferror %d\n", feof(f) != 0, ferror(f) != 0);
    rewind(f);
    printf("feof after rewind %d\n", feof(f) != 0);
    int c = fgetc(f);
    printf("first %c\n", c);
    ungetc('X', f);
    c = getc(f);
    printf("after ungetc %c tell %ld\n", c, ftell(f));
    fseek(f, -2, SEEK_END);
    c = fgetc(f);
    printf("second last %c tell %ld\n", c, ftell(f));
    fseek(f, 5, SEEK_SET);
    size_t n = fread(buf, 1, 3, f);
    buf[n] = 0;
    printf("fread %zu '%s'\n", n, buf);
    FILE *g = fdopen(fileno(f), "r");  /* shares the descriptor and its position */
    printf("fdopen %d\n", g != NULL);
    fclose(f);
    f = fopen(out, "a");
    fputs("appended\n", f);
    fclose(f);
    f = fopen(out, "r+");
    fputs("LINE", f);
    fclose(f);
    f = fopen(out, "r");
    while ((n = fread(buf, 1, sizeof buf - 1, f)) > 0) { buf[n] = 0; printf("now: %s", buf); }
    fclose(f);
    int ok = fopen("missing.txt", "r") != NULL;  /* errno read after each call, in order */
    printf("fopen missing %d errno %d\n", ok, errno);
    printf("rename %d\n", rename(out, "moved.txt"));
    errno = 0;
    ok = fopen(out, "r") != NULL;
    printf("open old %d errno %d\n", ok, errno);
    printf("remove %d\n", remove("moved.txt"));
    errno = 0;
    ok = remove("moved.txt");
    printf("remove again %d errno %d\n", ok, errno);
    FILE *t = tmpfile();
    fputs("temp data\n", t);
    rewind(t);
    printf("tmp: %s", fgets(buf, sizeof buf, t));
    fclose(t);
    FILE *s = fopen("seed.txt", "r");
    if (s) { printf("seed: %s", fgets(buf, sizeof buf, s)); fclose(s); }
    else printf("no seed\n");
    s = freopen("seed.txt", "r", stdin);
    printf("freopen stdin %d: %s", s == stdin, fgets(buf, sizeof buf, stdin));
    c = fgetc(stdin);
    printf("fgetc %c feof %d\n", c, feof(stdin) != 0);
    fgets(buf, sizeof buf, stdin);
    c = fgetc(stdin);
    printf("fgetc at end %d feof %d\n", c, feof(stdin) != 0);
    return 0;
}
