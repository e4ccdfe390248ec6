/* Takes the same addresses as main.c, from a different object. */
#include <stdio.h>
#include <string.h>

typedef void (*any_fn)(void);
int local_target(void);

any_fn other_puts(void) { return (any_fn)puts; }
any_fn other_strlen(void) { return (any_fn)strlen; }
any_fn other_local(void) { return (any_fn)local_target; }
void *other_stdout_addr(void) { return (void *)&stdout; }
