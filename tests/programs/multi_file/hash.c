/* FNV-1a, in its own object. */
#include "store.h"

unsigned long hash_string(const char *s)
{
    unsigned long h = 1469598103934665603ul;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ul;
    return h;
}
