/* A const table of function pointers (libc and local) in .rodata / .data.rel.ro, dispatched
 * by index, and a const table of strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int twice(int x) { return 2 * x; }
static int square(int x) { return x * x; }
static int negate(int x) { return -x; }

static int (*const unary[])(int) = {twice, square, negate, abs};
static const char *const names[] = {"twice", "square", "negate", "abs"};

struct cmd {
    const char *word;
    int (*compare)(const char *, const char *);
};
static const struct cmd cmds[] = {{"strcmp", strcmp}, {"strcasecmp", strcasecmp}};

int main(void)
{
    for (int i = 0; i < 4; i++)
        printf("%s(-6) = %d\n", names[i], unary[i](-6));
    for (int i = 0; i < 2; i++)
        printf("%s(\"abc\", \"ABC\") %s 0\n", cmds[i].word,
               cmds[i].compare("abc", "ABC") == 0 ? "==" : "!=");
    int acc = 3;
    for (int i = 0; i < 12; i++)
        acc = unary[i % 3](acc) % 1000;
    printf("acc = %d\n", acc);
    return 0;
}
