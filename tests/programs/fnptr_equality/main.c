/* Function-pointer equality across objects: &puts taken in two objects (one maybe -fPIC, via
 * the GOT; one via an absolute relocation) must be equal, in a non-PIE executable that means
 * the canonical PLT entry. The same for a local function and for data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*any_fn)(void);
any_fn other_puts(void);
any_fn other_strlen(void);
any_fn other_local(void);
void *other_stdout_addr(void);
int local_target(void);

any_fn here_puts = (any_fn)puts;

int local_target(void) { return 5; }

int main(void)
{
    printf("puts equal: %d\n", other_puts() == here_puts);
    printf("strlen equal: %d\n", other_strlen() == (any_fn)strlen);
    printf("local equal: %d\n", other_local() == (any_fn)local_target);
    printf("stdout addr equal: %d\n", other_stdout_addr() == (void *)&stdout);
    int (*p)(const char *) = (int (*)(const char *))other_puts();
    p("called through the other object's pointer");
    return 0;
}
