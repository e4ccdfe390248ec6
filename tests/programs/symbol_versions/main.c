/* Linking against a library with symbol versions: the reference to describe must be bound
 * to the default version, describe@@VER_2, never to the hidden describe@VER_1, and be
 * recorded in .gnu.version/.gnu.version_r, which ld.so honours. */
#include <stdio.h>

const char *describe(void);
int stable(int x);

int main(void)
{
    printf("%s\n", describe());
    printf("stable(41) = %d\n", stable(41));
    const char *(*fn)(void) = describe;
    printf("via pointer: %s\n", fn());
    return 0;
}
