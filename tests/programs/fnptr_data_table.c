/* Pointers to libc functions stored in writable data: dynamic R_X86_64_64 relocations (or the
 * canonical PLT address in a non-PIE link). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*char_fn)(int);
typedef size_t (*len_fn)(const char *);

struct op {
    const char *name;
    char_fn fn;
};

struct op ops[] = {
    {"toupper", toupper}, {"tolower", tolower}, {"isdigit", isdigit}, {"abs", abs},
};
len_fn length = strlen;
int (*say)(const char *) = puts;
void *(*allocate)(size_t) = malloc;

int main(void)
{
    const char *word = "MiXeD9";
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        printf("%-8s:", ops[i].name);
        for (const char *c = word; *c; c++)
            printf(" %d", ops[i].fn(*c) != 0 ? ops[i].fn(*c) : 0);
        printf("\n");
    }
    printf("abs(-5)=%d length=%zu\n", ops[3].fn(-5), length(word));
    char *copy = allocate(16);
    strcpy(copy, "via pointer");
    say(copy);
    free(copy);
    ops[0].fn = tolower; /* the table is writable */
    printf("%c\n", ops[0].fn('Q'));
    return 0;
}
