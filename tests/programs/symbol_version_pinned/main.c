/* References pinned to a version by the object itself (.symver NAME, SYM@VERSION): the
 * undefined symbol is literally named "describe@VER_1" in the object's symbol table, and the
 * linker must bind it to that (hidden, non-default) version of the library's describe and
 * record VER_1 for it.  The same trick pins glibc's memcpy@GLIBC_2.2.5, which portable
 * binaries use to run on older glibc. */
#include <stdio.h>
#include <string.h>

const char *describe(void);
const char *describe_old(void);
__asm__(".symver describe_old, describe@VER_1");
void *old_memcpy(void *, const void *, size_t);
__asm__(".symver old_memcpy, memcpy@GLIBC_2.2.5");

int main(void)
{
    printf("default: %s\n", describe());
    printf("pinned: %s\n", describe_old());
    char buf[16];
    old_memcpy(buf, "pinned memcpy", 14);
    printf("%s\n", buf);
    return 0;
}
