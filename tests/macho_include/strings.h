/* <strings.h> for Darwin: case-insensitive comparison and bzero. */
#ifndef LH_DARWIN_STRINGS_H
#define LH_DARWIN_STRINGS_H

#include "_types.h"

__BEGIN_DECLS

int strcasecmp(const char *, const char *);
int strncasecmp(const char *, const char *, size_t);
void bzero(void *, size_t);

__END_DECLS

#endif
