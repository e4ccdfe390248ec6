/* <time.h> for Darwin: time_t is a long, clock_t an unsigned long and CLOCKS_PER_SEC a
 * million; struct tm ends with tm_gmtoff and tm_zone (the same layout as glibc's). */
#ifndef LH_DARWIN_TIME_H
#define LH_DARWIN_TIME_H

#include "_types.h"

__BEGIN_DECLS

typedef long time_t;
typedef unsigned long clock_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

struct tm {
    int tm_sec;
    int tm_min;
    int tm_hour;
    int tm_mday;
    int tm_mon;
    int tm_year;
    int tm_wday;
    int tm_yday;
    int tm_isdst;
    long tm_gmtoff;
    char *tm_zone;
};

#define CLOCKS_PER_SEC 1000000

time_t time(time_t *);
clock_t clock(void);
double difftime(time_t, time_t);
time_t mktime(struct tm *);
struct tm *gmtime(const time_t *);
struct tm *localtime(const time_t *);
struct tm *gmtime_r(const time_t *__restrict, struct tm *__restrict);
struct tm *localtime_r(const time_t *__restrict, struct tm *__restrict);
size_t strftime(char *__restrict, size_t, const char *__restrict,
                const struct tm *__restrict);

__END_DECLS

#endif
