/* Archive member pulled by calc_mul; it needs calc_square from a later member. */
int calc_square(int x);

int calc_mul(int a, int b)
{
    return (calc_square(a + b) - calc_square(a - b)) / 4;
}
