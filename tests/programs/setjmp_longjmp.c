/* setjmp/longjmp through several frames, and a counter that survives via volatile. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int calls;

static void fail_at(int depth, int limit)
{
    calls++;
    if (depth == limit)
        longjmp(env, depth * 10 + 1);
    fail_at(depth + 1, limit);
}

int main(void)
{
    volatile int attempts = 0;
    for (int limit = 0; limit < 4; limit++) {
        int code = setjmp(env);
        if (code == 0) {
            attempts++;
            fail_at(0, limit);
            printf("unreachable\n");
        } else {
            printf("limit %d: longjmp code %d, calls %d\n", limit, code, calls);
        }
    }
    printf("attempts: %d\n", attempts);
    return 0;
}
