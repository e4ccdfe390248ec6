/* getopt as a strictly POSIX program sees it (built -std=c99 -D_POSIX_C_SOURCE=200809L,
   glibc's headers bind it to __posix_getopt): no permutation, the first non-option
   ends the options. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int c;
    argv[0] = "prog";
    while ((c = getopt(argc, argv, "ab:")) != -1)
        printf("c=%d optind=%d optarg=%s optopt=%d\n", c, optind, optarg ? optarg : "(null)",
               optopt);
    printf("end optind=%d argv:", optind);
    for (int i = 0; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf("\n");
    return 0;
}
