/* Absolute pointers in initialised data with addends: into arrays, into strings, to
 * functions, to other pointers, and a self-referential statically built list. */
#include <stdio.h>

int numbers[10] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90};
int *middle = &numbers[5];
int *past_end = numbers + 10;
const char *tail = "abcdefgh" + 3;
int **indirect = &middle;
static char text[] = "static text";
char *text_end = text + sizeof text - 2;

struct link {
    int value;
    const struct link *next;
};
static const struct link c = {3, NULL};
static const struct link b = {2, &c};
static const struct link a = {1, &b};
const struct link *head = &a;

struct rec {
    const char *name;
    int *slot;
    long delta;
};
struct rec recs[] = {{"first", &numbers[1], 8}, {"last", &numbers[9], -8}};

int main(void)
{
    printf("middle %d, past_end-1 %d, tail %s, **indirect %d\n", *middle, past_end[-1], tail,
           **indirect);
    printf("text_end %c, span %ld\n", *text_end, (long)(past_end - middle));
    for (const struct link *p = head; p; p = p->next)
        printf("link %d\n", p->value);
    for (int i = 0; i < 2; i++)
        printf("%s %d %ld\n", recs[i].name, *recs[i].slot, recs[i].delta);
    *middle = 555;
    printf("numbers[5] %d\n", numbers[5]);
    return 0;
}
