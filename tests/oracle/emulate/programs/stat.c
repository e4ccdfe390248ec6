/* stat and its family on a file made here, the working directory, a missing path and the
   standard descriptors (pipes when the output is captured); the calls that change owner,
   mode and times.  Built plain and with -D_FILE_OFFSET_BITS=64 (stat64 on i386). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

static void show(const char *what, int rc, const struct stat *st) {
    if (rc != 0) {
        printf("%s: %d errno=%d\n", what, rc, errno);
        errno = 0;
        return;
    }
    printf("%s: reg=%d dir=%d fifo=%d owner-rw=%d size=%lld nlink=%ld\n", what,
           S_ISREG(st->st_mode), S_ISDIR(st->st_mode), S_ISFIFO(st->st_mode),
           (st->st_mode & 0600) == 0600, (long long)st->st_size, (long)st->st_nlink);
}

int main(void) {
    struct stat st;
    FILE *f = fopen("made.txt", "w");
    fputs("0123456789", f);
    fflush(f);
    show("fstat open file", fstat(fileno(f), &st), &st);
    fclose(f);
    show("stat file", stat("made.txt", &st), &st);
    show("lstat file", lstat("./made.txt", &st), &st);
    show("stat cwd", stat(".", &st), &st);
    show("stat missing", stat("missing.txt", &st), &st);
    show("fstat stdout", fstat(1, &st), &st);
    show("fstat bad", fstat(99, &st), &st);
    show("fstatat", fstatat(AT_FDCWD, "made.txt", &st, 0), &st);
    printf("chmod %d, utime %d, utime missing %d errno=%d\n", chmod("made.txt", 0600),
           utime("made.txt", NULL), utime("missing.txt", NULL), errno);
    int fd = open("made.txt", O_RDONLY);
    printf("fchmod %d\n", fchmod(fd, 0644));
    close(fd);
    return 0;
}
