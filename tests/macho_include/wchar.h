/* <wchar.h> for Darwin: the wide character types only (wchar_t, from <stddef.h>, is a
 * 32-bit int as on Linux; wint_t, WEOF); no wide functions: the emulated libSystem has
 * none. */
#ifndef LH_DARWIN_WCHAR_H
#define LH_DARWIN_WCHAR_H

#include "_types.h"

typedef int wint_t;
#define WEOF ((wint_t)-1)

#endif
