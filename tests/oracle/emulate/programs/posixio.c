/* POSIX descriptor I/O on files: open's flags, read/write/lseek, close, and descriptors
   shared in number with fopen's; every result printed, to be compared with a native run. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void show(const char *what, long value) {
    printf("%s: %ld errno=%d\n", what, value, value < 0 ? errno : 0);
    errno = 0;
}

int main(void) {
    char buf[64];
    int fd = open("made.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    show("open new", fd);
    show("write", write(fd, "hello, descriptors\n", 19));
    show("lseek end", lseek(fd, 0, SEEK_END));
    show("lseek set", lseek(fd, 7, SEEK_SET));
    show("overwrite", write(fd, "DESC", 4));
    show("read on write-only", read(fd, buf, 4));
    show("close", close(fd));
    show("close again", close(fd));
    show("open missing", open("absent.txt", O_RDONLY));
    show("open excl", open("made.txt", O_WRONLY | O_CREAT | O_EXCL, 0644));
    fd = open("made.txt", O_RDONLY);
    show("open read", fd);
    long n = read(fd, buf, sizeof buf - 1);
    show("read", n);
    buf[n > 0 ? n : 0] = 0;
    printf("text: %s", buf);
    show("lseek cur", lseek(fd, -5, SEEK_CUR));
    show("lseek before start", lseek(fd, -100, SEEK_CUR));
    FILE *f = fopen("made.txt", "r");
    show("fopen's descriptor", fileno(f));
    fclose(f);
    int app = open("made.txt", O_WRONLY | O_APPEND);
    show("open append", app);
    lseek(app, 0, SEEK_SET);
    show("append write", write(app, "tail\n", 5));
    close(app);
    show("lseek after append", lseek(fd, 0, SEEK_END));
    close(fd);
    fd = open("made.txt", O_RDWR | O_TRUNC);
    show("truncated size", lseek(fd, 0, SEEK_END));
    show("lseek stdout", lseek(1, 0, SEEK_CUR));
    close(fd);
    char tmpl[] = "tmp-XXXXXX";
    int t = mkstemp(tmpl);
    show("mkstemp", t);
    printf("name changed: %d, length %zu\n", strcmp(tmpl, "tmp-XXXXXX") != 0, strlen(tmpl));
    show("write tmp", write(t, "x", 1));
    show("lseek tmp", lseek(t, 0, SEEK_SET));
    show("read tmp", read(t, buf, 4));
    show("unlink", unlink(tmpl));
    show("unlink again", unlink(tmpl));
    close(t);
    char bad[] = "tmp-XXXX";
    show("mkstemp bad", mkstemp(bad));
    return 0;
}
