/* environ (and its alias __environ) is a libc data object: COPY relocation, and both names
 * must keep pointing at the same copied slot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;
extern char **__environ;

static const char *find(char **env, const char *name)
{
    size_t len = strlen(name);
    for (char **p = env; *p; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            return *p + len + 1;
    return NULL;
}

int main(void)
{
    printf("aliases agree: %d\n", environ == __environ);
    printf("LH_PROBE via environ: %s\n", find(environ, "LH_PROBE"));
    printf("LH_PROBE via getenv: %s\n", getenv("LH_PROBE"));
    setenv("LH_ADDED", "yes", 1);
    /* setenv may move the array: environ must follow, which only works if the program and
     * libc share one environ variable. */
    printf("LH_ADDED via environ: %s\n", find(environ, "LH_ADDED"));
    printf("missing: %s\n", find(environ, "LH_MISSING") ? "found" : "absent");
    return 0;
}
