/* <sys/times.h> for Darwin (declared only: the emulated libSystem has no times yet). */
#ifndef LH_DARWIN_SYS_TIMES_H
#define LH_DARWIN_SYS_TIMES_H

#include <time.h>

__BEGIN_DECLS

struct tms {
    clock_t tms_utime;
    clock_t tms_stime;
    clock_t tms_cutime;
    clock_t tms_cstime;
};

clock_t times(struct tms *);

__END_DECLS

#endif
