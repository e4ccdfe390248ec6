/* libc functions reached through pointers stored in writable data (.data): an R_X86_64_64
 * against an imported function, which needs a dynamic relocation or a canonical PLT address;
 * the address taken in code (R_X86_64_32) must compare equal to the stored one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int (*say)(const char *) = puts;
size_t (*measure)(const char *) = strlen;
struct op { const char *name; int (*fn)(int); } ops[] = { { "abs", abs }, { "toupper", 0 } };

int main(void)
{
    int (*volatile again)(const char *) = puts;
    say("through a pointer in .data");
    int n = (int)measure("1234567");
    printf("same=%d abs=%d len=%d\n", again == say, ops[0].fn(-35), n);
    return n + ops[0].fn(-35);
}
