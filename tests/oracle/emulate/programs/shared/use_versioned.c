#include <stdio.h>

const char *describe(void);

int main(void) {
    const char *(*through_pointer)(void) = describe;
    printf("%s %s\n", describe(), through_pointer());
    return 0;
}
