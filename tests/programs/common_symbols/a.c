/* Tentative definitions repeating main.c's, plus a bigger sized_differently. */
int shared_counter;
int shared_array[4];
char sized_differently[64];

void bump_a(void)
{
    shared_counter += 10;
    shared_array[1] = 6;
}

char touch_last(void)
{
    sized_differently[63] = 'x';
    return sized_differently[63];
}
