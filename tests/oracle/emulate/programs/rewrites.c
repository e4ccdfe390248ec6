/* A file rewritten, truncated, replaced and removed in loops: 384 MiB written in all,
   never more than 3 MiB held at once, so the run stays within its 256 MiB memory cap
   (and 64 MiB held is still refused). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t size = 1u << 20;
    char *block = malloc(size);
    memset(block, 'x', size);
    for (int i = 0; i < 128; i++) {
        FILE *f = fopen("rewritten", "w");  /* truncates: the last round's bytes go */
        fwrite(block, 1, size, f);
        fclose(f);
        int fd = open("truncated", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        write(fd, block, size);
        ftruncate(fd, 0);
        close(fd);
        f = fopen("tmp", "w");
        fwrite(block, 1, size, f);
        fclose(f);
        rename("tmp", "replaced");  /* the old "replaced" goes */
        f = fopen("removed", "w");
        fwrite(block, 1, size, f);
        fclose(f);
        remove("removed");
    }
    FILE *f = fopen("replaced", "r");
    fseek(f, 0, SEEK_END);
    printf("replaced: %ld bytes\n", ftell(f));
    fclose(f);
    if (argc > 1) {  /* then hold every round: past the cap */
        for (int i = 0; i < 300; i++) {
            char name[32];
            snprintf(name, sizeof name, "kept%d", i);
            f = fopen(name, "w");
            fwrite(block, 1, size, f);
            fclose(f);
        }
        puts("held them all");
    }
    return 0;
}
