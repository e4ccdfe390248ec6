/* <err.h> for Darwin: BSD's error reports, "PROGNAME: message[: strerror(errno)]". */
#ifndef LH_DARWIN_ERR_H
#define LH_DARWIN_ERR_H

#include "_types.h"

__BEGIN_DECLS

void err(int, const char *, ...) __attribute__((noreturn, format(printf, 2, 3)));
void errx(int, const char *, ...) __attribute__((noreturn, format(printf, 2, 3)));
void warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void warnx(const char *, ...) __attribute__((format(printf, 1, 2)));

__END_DECLS

#endif
