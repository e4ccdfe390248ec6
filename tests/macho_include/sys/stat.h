/* <sys/stat.h> for Darwin: struct stat in its 64-bit-inode layout (what the $INODE64
 * functions fill, and the emulated libSystem serves them) and the mode bits. */
#ifndef LH_DARWIN_SYS_STAT_H
#define LH_DARWIN_SYS_STAT_H

#include <sys/types.h>
#include <time.h>

__BEGIN_DECLS

struct stat {
    int st_dev;
    mode_t st_mode;
    unsigned short st_nlink;
    unsigned long long st_ino;
    uid_t st_uid;
    gid_t st_gid;
    int st_rdev;
    struct timespec st_atimespec;
    struct timespec st_mtimespec;
    struct timespec st_ctimespec;
    struct timespec st_birthtimespec;
    off_t st_size;
    long long st_blocks;
    int st_blksize;
    unsigned int st_flags;
    unsigned int st_gen;
    int st_lspare;
    long long st_qspare[2];
};

#define st_atime st_atimespec.tv_sec
#define st_mtime st_mtimespec.tv_sec
#define st_ctime st_ctimespec.tv_sec

#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFLNK 0120000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
#define S_IRUSR 0000400
#define S_IWUSR 0000200
#define S_IXUSR 0000100

/* this layout is what the $INODE64 variants fill (the plain names keep 32-bit inodes) */
int stat(const char *, struct stat *) __asm("_stat$INODE64");
int lstat(const char *, struct stat *) __asm("_lstat$INODE64");
int fstat(int, struct stat *) __asm("_fstat$INODE64");
int fchmod(int, mode_t);
int chmod(const char *, mode_t);

__END_DECLS

#endif
