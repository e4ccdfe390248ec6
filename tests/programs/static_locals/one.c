/* Static (local) symbols with the same names in several objects must stay distinct. */
#include <stdio.h>

static int count = sizeof("one");
static const char label[] = "one";
static int step(void) { return ++count; }
static void (*printer)(const char *) = 0;

static void show(const char *s) { printf("%s: %s\n", label, s); }

int run_one(void)
{
    printer = show;
    step();
    step();
    printer(label);
    return count;
}
