/* write(2) and pwrite(2) failures as libc reports them: -1 with errno set (the emulator's
   libc write once handed back the system call's -errno, -9, with errno untouched). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = open("w", O_CREAT | O_WRONLY, 0644);
    write(fd, "data", 4);
    close(fd);
    fd = open("w", O_RDONLY);
    errno = 0;
    ssize_t n = write(fd, "x", 1);
    printf("write read-only: %zd errno=%d\n", n, errno);
    errno = 0;
    n = write(99, "x", 1);
    printf("write closed: %zd errno=%d\n", n, errno);
    errno = 0;
    n = pwrite(fd, "x", 1, 0);
    printf("pwrite read-only: %zd errno=%d\n", n, errno);
    close(fd);
    if (argc > 1) {  /* the emulator's file system ends at 64 MiB: ENOSPC past it */
        fd = open("big", O_CREAT | O_RDWR, 0644);
        errno = 0;
        n = pwrite(fd, "x", 1, 1L << 30);
        printf("pwrite past the end of the file system: %zd errno=%d\n", n, errno);
        lseek(fd, 1L << 30, SEEK_SET);
        errno = 0;
        n = write(fd, "x", 1);
        printf("write past the end of the file system: %zd errno=%d\n", n, errno);
    }
    return 0;
}
