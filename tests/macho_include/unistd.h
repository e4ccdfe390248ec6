/* <unistd.h> for Darwin: the few system calls the programs use. */
#ifndef LH_DARWIN_UNISTD_H
#define LH_DARWIN_UNISTD_H

#include "_types.h"

__BEGIN_DECLS

#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2

ssize_t write(int, const void *, size_t);
ssize_t read(int, void *, size_t);
void _exit(int) __attribute__((noreturn));
int isatty(int);
int unlink(const char *);

__END_DECLS

#endif
