/* What sqlite's unix VFS does with its database file: fcntl flags and record locks,
   pread/pwrite at offsets, ftruncate, fsync, and stat's inode through the path and the
   descriptor being the same file.  Built plain and with -D_FILE_OFFSET_BITS=64. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, long value) {
    printf("%s: %ld errno=%d\n", what, value, value < 0 ? errno : 0);
    errno = 0;
}

int main(void) {
    char buf[32] = {0};
    int fd = open("db.bin", O_RDWR | O_CREAT, 0644);
    show("open", fd);
    show("F_GETFL access", fcntl(fd, F_GETFL) & O_ACCMODE);
    show("F_GETFD", fcntl(fd, F_GETFD) >= 0);
    show("F_SETFD", fcntl(fd, F_SETFD, FD_CLOEXEC));
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    show("F_SETLK", fcntl(fd, F_SETLK, &lock));
    lock.l_type = F_RDLCK;
    show("F_GETLK", fcntl(fd, F_GETLK, &lock));
    printf("F_GETLK type unlocked: %d\n", lock.l_type == F_UNLCK);
    show("pwrite", pwrite(fd, "page-two", 8, 4096));
    show("pwrite start", pwrite(fd, "head", 4, 0));
    show("position after pwrite", lseek(fd, 0, SEEK_CUR));
    show("pread", pread(fd, buf, 8, 4096));
    printf("pread text: %s\n", buf);
    show("pread past end", pread(fd, buf, 8, 10000));
    show("size", lseek(fd, 0, SEEK_END));
    show("ftruncate", ftruncate(fd, 4100));
    show("size after", lseek(fd, 0, SEEK_END));
    show("ftruncate grow", ftruncate(fd, 8192));
    show("size grown", lseek(fd, 0, SEEK_END));
    show("fsync", fsync(fd));
    show("fdatasync", fdatasync(fd));
    struct stat by_path, by_fd;
    stat("db.bin", &by_path);
    fstat(fd, &by_fd);
    printf("same inode: %d, size %lld\n", by_path.st_ino == by_fd.st_ino, (long long)by_fd.st_size);
    int copy = fcntl(fd, F_DUPFD, 10);
    show("F_DUPFD", copy);
    show("dup shares position", lseek(copy, 5, SEEK_SET) == lseek(fd, 0, SEEK_CUR));
    show("fsync closed", fsync(99));
    close(copy);
    close(fd);
    show("F_GETFL closed", fcntl(fd, F_GETFL));
    return 0;
}
