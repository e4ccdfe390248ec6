/* <utime.h> for Darwin (declared only: the emulated libSystem has no utime yet). */
#ifndef LH_DARWIN_UTIME_H
#define LH_DARWIN_UTIME_H

#include <sys/types.h>
#include <time.h>

__BEGIN_DECLS

struct utimbuf {
    time_t actime;
    time_t modtime;
};

int utime(const char *, const struct utimbuf *);

__END_DECLS

#endif
