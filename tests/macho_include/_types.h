/* Types shared by the other headers (size_t, ssize_t, NULL, off_t, pid_t). */
#ifndef LH_DARWIN_TYPES_H
#define LH_DARWIN_TYPES_H

#include <stddef.h>

typedef long ssize_t;
typedef long long off_t;
typedef int pid_t;

#endif
