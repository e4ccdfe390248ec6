/* The second object: its functions and data each in a section of their own. */
int other_data[3] = {100, 200, 300};
const char *const other_names[] = {"x", "y", "z"};
static long counter;
int unused_data[100] = {1};

static int twice(int x)
{
    counter++;
    return 2 * x;
}

int used_in_other(int x) { return twice(x) + (int)counter + other_data[0]; }
int also_unused(void) { return unused_data[0]; }
