/* The executable must export what its shared libraries need from it: host_log and
 * host_config (referenced by the library) and hook (defined by both; the executable's copy
 * must win, inside the library too).  These go in the executable's .dynsym and hash
 * tables, where ld.so looks them up. */
#include <stdio.h>

int plugin_run(int x);
int host_config = 7;
static int lines;

void host_log(const char *message)
{
    lines++;
    printf("host_log: %s\n", message);
}

const char *hook(void) { return "executable's hook"; }

int main(void)
{
    int r = plugin_run(3);
    printf("result %d, host_config now %d, lines %d\n", r, host_config, lines);
    printf("main calls: %s\n", hook());
    return 0;
}
