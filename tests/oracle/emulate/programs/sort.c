/* Library functions calling back into the program: qsort's and bsearch's comparator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int calls, misaligned;

/* The ABI promises a 16-byte aligned stack at every call, also to callbacks from libc. */
__attribute__((noinline)) static void check_alignment(void) {
    __attribute__((aligned(16))) volatile char probe[16];
    volatile unsigned long where = (unsigned long)probe;  /* volatile: not folded to 0 */
    probe[0] = 0;
    if (where & 15) misaligned++;
}

static int by_value(const void *a, const void *b) {
    calls++;
    check_alignment();
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void) {
    int v[] = {42, -7, 19, 3, 3, 100, 0, -50, 8, 77, 12, 5};
    size_t n = sizeof v / sizeof v[0];
    qsort(v, n, sizeof v[0], by_value);
    for (size_t i = 0; i < n; i++) printf("%d ", v[i]);
    printf("\n");
    const char *names[] = {"pear", "apple", "fig", "kiwi", "banana"};
    qsort(names, 5, sizeof names[0], by_name);
    for (int i = 0; i < 5; i++) printf("%s ", names[i]);
    printf("\n");
    int key = 19;
    int *found = bsearch(&key, v, n, sizeof v[0], by_value);
    key = 20;
    int *missing = bsearch(&key, v, n, sizeof v[0], by_value);
    printf("found %d at %d, missing %s\n", *found, (int)(found - v), missing ? "no" : "yes");
    char buf[16];
    int len = snprintf(buf, sizeof buf, "%s-%05d-%s", "abc", 42, "truncated text");
    printf("%s %d %ld %d\n", buf, len, strtol("  -0x1f", NULL, 16), atoi("123abc"));
    check_alignment();
    printf("misaligned frames: %d\n", misaligned);
    return calls > 0;
}
