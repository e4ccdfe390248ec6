/* <errno.h> for Darwin: errno is the int that libSystem's __error() points to. */
#ifndef LH_DARWIN_ERRNO_H
#define LH_DARWIN_ERRNO_H

#include "_types.h"

__BEGIN_DECLS

extern int *__error(void);
#define errno (*__error())

#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EEXIST 17
#define EINVAL 22
#define EDOM 33
#define ERANGE 34

__END_DECLS

#endif
