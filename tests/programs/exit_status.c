/* A non-zero exit status returned from main, after output that must still be flushed. */
#include <stdio.h>

static int classify(int n)
{
    if (n < 0)
        return 1;
    if (n == 0)
        return 2;
    return n % 7 == 0 ? 42 : 3;
}

int main(int argc, char **argv)
{
    (void)argv;
    int status = classify(argc * 7);
    printf("argc=%d status=%d\n", argc, status);
    return status;
}
