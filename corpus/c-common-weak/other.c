/* The other side of main.c: more COMMON, a real definition, and the strong hook. */
int counter;
int sized[8];
int initialised = 40;

int hook(void) { return 10; }

void bump(int by) { counter += by; initialised += 1; }

int sized_sum(void)
{
    int s = 0;
    for (int i = 0; i < 8; i++)
        s += sized[i];
    return s + (int)sizeof sized;
}
