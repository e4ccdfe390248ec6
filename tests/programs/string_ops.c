/* String literals (.rodata.str1.x mergeable sections, with shared suffixes), libc string
 * functions, and sprintf/sscanf round trips. */
#include <stdio.h>
#include <string.h>

static const char *const words[] = {"hello world", "world", "o world", "hello", "", "d"};

int main(void)
{
    for (int i = 0; i < 6; i++)
        printf("[%s] len %zu\n", words[i], strlen(words[i]));
    printf("strstr: %s\n", strstr(words[0], "lo w"));
    printf("strchr: %s, strrchr: %s\n", strchr(words[0], 'o'), strrchr(words[0], 'o'));
    char buf[64];
    snprintf(buf, sizeof buf, "%s-%d-%s", "key", 17, words[1]);
    char key[8], rest[16];
    int n = 0;
    int fields = sscanf(buf, "%7[^-]-%d-%15s", key, &n, rest);
    printf("%s -> %d fields: %s %d %s\n", buf, fields, key, n, rest);
    printf("cmp %d %d %d\n", strcmp("abc", "abd") < 0, strncmp("abcx", "abcy", 3),
           memcmp("zz", "za", 2) > 0);
    char copy[32];
    memcpy(copy, "0123456789", 11);
    memmove(copy + 2, copy, 8);
    printf("memmove: %s\n", copy);
    const char *wide = "\t tabs and spaces \n";
    printf("span %zu cspan %zu\n", strspn(wide, " \t"), strcspn(wide, "\n"));
    return 0;
}
