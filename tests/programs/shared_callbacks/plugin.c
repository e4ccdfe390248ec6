/* A shared library that depends on its host: it calls host_log and reads host_config, which
 * only the executable defines, and calls hook, which the library defines (in hook.c, so no
 * compiler can inline it here) but the executable also defines: the executable's
 * definition interposes. */
#include <stdio.h>

void host_log(const char *message);
extern int host_config;
const char *hook(void);

int plugin_run(int x)
{
    char line[64];
    snprintf(line, sizeof line, "plugin_run(%d) with config %d, hook: %s", x, host_config,
             hook());
    host_log(line);
    host_config++;
    return x * host_config;
}
