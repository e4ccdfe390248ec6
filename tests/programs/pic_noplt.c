/* -fPIC -fno-plt in a non-PIE executable: every call to libc is `call *sym@GOTPCREL(%rip)`
 * and every global is loaded through the GOT (R_X86_64_GOTPCRELX / REX_GOTPCRELX, which the
 * linker may relax for local definitions). */
#include <stdio.h>
#include <string.h>

int counter = 5;
const char message[] = "through the GOT";
int *counter_ptr = &counter;

__attribute__((noinline)) int bump(int by)
{
    counter += by;
    return counter;
}

int (*bump_ptr)(int) = bump;
size_t (*strlen_ptr)(const char *) = strlen;

int main(void)
{
    printf("%s: %zu\n", message, strlen(message));
    int direct = bump(3);          /* separate statements: argument order is unspecified */
    int indirect = bump_ptr(10);
    printf("bump %d, via pointer %d, *counter_ptr %d\n", direct, indirect, *counter_ptr);
    printf("strlen_ptr == strlen: %d, value %zu\n", strlen_ptr == strlen, strlen_ptr("abc"));
    printf("bump_ptr == bump: %d\n", bump_ptr == bump);
    fputs("fputs via GOT\n", stdout);
    return counter == 18 ? 0 : 1;
}
