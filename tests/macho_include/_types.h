/* Types shared by the other headers (size_t, ssize_t, NULL, off_t, pid_t), and the C
 * linkage brackets __BEGIN_DECLS/__END_DECLS. */
#ifndef LH_DARWIN_TYPES_H
#define LH_DARWIN_TYPES_H

#include <stddef.h>

/* C linkage for every declaration when a C++ file includes these headers */
#ifdef __cplusplus
#define __BEGIN_DECLS extern "C" {
#define __END_DECLS }
#else
#define __BEGIN_DECLS
#define __END_DECLS
#endif

typedef long ssize_t;
typedef long long off_t;
typedef int pid_t;

#endif
