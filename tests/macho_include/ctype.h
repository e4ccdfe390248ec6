/* <ctype.h> for Darwin, as plain functions.  Apple's header inlines most of these as reads of
 * _DefaultRuneLocale; calling libSystem's functions instead keeps every one addressable and
 * makes each use a visible import. */
#ifndef LH_DARWIN_CTYPE_H
#define LH_DARWIN_CTYPE_H

#include "_types.h"

__BEGIN_DECLS

int isalnum(int);
int isalpha(int);
int isblank(int);
int iscntrl(int);
int isdigit(int);
int isgraph(int);
int islower(int);
int isprint(int);
int ispunct(int);
int isspace(int);
int isupper(int);
int isxdigit(int);
int tolower(int);
int toupper(int);

__END_DECLS

#endif
