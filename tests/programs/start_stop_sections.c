/* A custom section whose name is a C identifier: the linker defines __start_SECNAME and
 * __stop_SECNAME around it, and (being referenced) the section is kept.  Registration tables
 * built this way are common in real programs. */
#include <stdio.h>

struct command {
    const char *name;
    int (*run)(int);
};

static int cmd_double(int x) { return 2 * x; }
static int cmd_square(int x) { return x * x; }
static int cmd_negate(int x) { return -x; }

#define REGISTER(n, f)                                                                         \
    __attribute__((section("lh_commands"), used, aligned(sizeof(void *))))                   \
    static const struct command reg_##f = {n, f}

REGISTER("double", cmd_double);
REGISTER("square", cmd_square);
REGISTER("negate", cmd_negate);

extern const struct command __start_lh_commands[];
extern const struct command __stop_lh_commands[];

int main(void)
{
    long count = __stop_lh_commands - __start_lh_commands;
    printf("%ld commands\n", count);
    int total = 0;
    for (const struct command *c = __start_lh_commands; c < __stop_lh_commands; c++)
        total += c->run(7);
    printf("total of all commands on 7: %d\n", total);
    return count == 3 ? 0 : 1;
}
