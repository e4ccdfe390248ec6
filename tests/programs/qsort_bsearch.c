/* qsort and bsearch calling back into the program: local function addresses passed to libc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int descending(const void *a, const void *b) { return by_value(b, a); }

int main(void)
{
    int nums[] = {42, -3, 17, 8, 99, 0, -50, 23, 8, 64};
    size_t n = sizeof nums / sizeof nums[0];
    qsort(nums, n, sizeof nums[0], by_value);
    for (size_t i = 0; i < n; i++)
        printf("%d ", nums[i]);
    printf("\n");
    int keys[] = {23, 5, -50, 99};
    for (int i = 0; i < 4; i++) {
        int *hit = bsearch(&keys[i], nums, n, sizeof nums[0], by_value);
        printf("%d: %s\n", keys[i], hit ? "found" : "missing");
    }
    const char *words[] = {"pear", "apple", "fig", "banana", "cherry"};
    qsort(words, 5, sizeof words[0], by_string);
    for (int i = 0; i < 5; i++)
        printf("%s%c", words[i], i == 4 ? '\n' : ',');
    qsort(nums, n, sizeof nums[0], descending);
    printf("max=%d min=%d\n", nums[0], nums[n - 1]);
    return 0;
}
