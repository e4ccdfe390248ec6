/* Undefined weak symbols resolve to 0: a missing function and a missing object are NULL. */
#include <stdio.h>

extern int optional_hook(int) __attribute__((weak));
extern int optional_table[] __attribute__((weak));
extern const char optional_name[] __attribute__((weak));
int present_hook(int x) __attribute__((weak));
int present_hook(int x) { return x + 100; }

int main(void)
{
    printf("optional_hook: %s\n", optional_hook ? "present" : "NULL");
    printf("optional_table: %s\n", optional_table ? "present" : "NULL");
    printf("optional_name: %s\n", optional_name ? "present" : "NULL");
    printf("present_hook: %s -> %d\n", present_hook ? "present" : "NULL", present_hook(1));
    int (*volatile hook)(int) = optional_hook;
    printf("call guarded: %d\n", hook ? hook(1) : -1);
    return 0;
}
