/* Thread-local variables of the executable: the PT_TLS image below the thread pointer. */
#include <stdio.h>

__thread int counter = 5;
__thread char name[16] = "tls-data";
static __thread long zeroed[8];
__thread long long wide = 0x1122334455667788LL;

static void bump(void) { counter += 10; zeroed[3] += counter; }

int main(void) {
    bump();
    bump();
    printf("%d %s %ld %ld %llx\n", counter, name, zeroed[3], zeroed[0], wide);
    return counter;
}
