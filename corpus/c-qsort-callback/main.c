/* libc calling back into the program: qsort and bsearch take a comparison function defined
 * here (its address passed in a register, R_X86_64_32 in non-PIE code); the strings sorted
 * are reached through a pointer array in .data (R_X86_64_64 against .rodata). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *words[] = { "pear", "fig", "apple", "kiwi", "banana", "cherry" };
static int calls;

static int by_text(const void *a, const void *b)
{
    calls++;
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void)
{
    size_t n = sizeof words / sizeof words[0];
    qsort(words, n, sizeof words[0], by_text);
    for (size_t i = 0; i < n; i++)
        printf("%s%c", words[i], i + 1 < n ? ' ' : '\n');
    const char *key = "kiwi";
    const char **hit = bsearch(&key, words, n, sizeof words[0], by_text);
    printf("kiwi at %d, compared: %s\n", hit ? (int)(hit - words) : -1, calls > 0 ? "yes" : "no");
    return hit ? (int)(hit - words) : 255;
}
