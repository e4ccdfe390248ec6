/* The heap through libc: malloc, calloc, realloc, free, with a linked list and a growing
 * array, and strdup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    int value;
    struct node *next;
};

static struct node *push(struct node *head, int value)
{
    struct node *n = malloc(sizeof *n);
    n->value = value;
    n->next = head;
    return n;
}

int main(void)
{
    struct node *list = NULL;
    for (int i = 1; i <= 1000; i++)
        list = push(list, i * i % 97);
    long total = 0;
    int count = 0;
    while (list) {
        struct node *next = list->next;
        total += list->value;
        count++;
        free(list);
        list = next;
    }
    printf("nodes %d total %ld\n", count, total);

    int *grow = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < 5000; i++) {
        if (i == cap) {
            cap = cap ? cap * 2 : 4;
            grow = realloc(grow, cap * sizeof *grow);
        }
        grow[i] = (int)(i ^ (i >> 3));
    }
    printf("grow cap %zu last %d\n", cap, grow[4999]);
    free(grow);

    unsigned *zeros = calloc(1 << 16, sizeof *zeros);
    unsigned nonzero = 0;
    for (int i = 0; i < 1 << 16; i++)
        nonzero += zeros[i] != 0;
    printf("calloc nonzero %u\n", nonzero);
    free(zeros);

    char *dup = strdup("duplicated string");
    dup[0] = 'D';
    puts(dup);
    free(dup);
    return 0;
}
