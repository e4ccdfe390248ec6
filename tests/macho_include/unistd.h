/* <unistd.h> for Darwin: the few system calls the programs use. */
#ifndef LH_DARWIN_UNISTD_H
#define LH_DARWIN_UNISTD_H

#include "_types.h"
#include <sys/types.h>

__BEGIN_DECLS

#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2

/* sysconf names: Darwin's numbers (glibc's differ) */
#define _SC_CLK_TCK 3
#define _SC_PAGESIZE 29
#define _SC_PAGE_SIZE _SC_PAGESIZE
#define _SC_NPROCESSORS_CONF 57
#define _SC_NPROCESSORS_ONLN 58

ssize_t write(int, const void *, size_t);
ssize_t read(int, void *, size_t);
void _exit(int) __attribute__((noreturn));
int isatty(int);
int unlink(const char *);
int close(int);
int fchown(int, uid_t, gid_t);
off_t lseek(int, off_t, int);
long sysconf(int);

__END_DECLS

#endif
