/* More tentative definitions, and the one real (initialised) definition. */
int shared_counter;
extern int shared_array[4];
double defined_elsewhere = 2.5;

void bump_b(void)
{
    shared_counter += 100;
    shared_array[2] = 7;
}

int array_sum(void) { return shared_array[0] + shared_array[1] + shared_array[2]; }
