/* <sys/types.h> for Darwin: the basic system types (off_t is 64-bit on i386 too). */
#ifndef LH_DARWIN_SYS_TYPES_H
#define LH_DARWIN_SYS_TYPES_H

#include "../_types.h"

typedef unsigned short mode_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;

#endif
