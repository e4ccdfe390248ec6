/* Archive member that only a weak reference names: it must stay out of the link. */
#include <stdio.h>

__attribute__((constructor)) static void announce(void) { puts("FEATURE MEMBER WAS LINKED"); }
int optional_feature(void) { return 1; }
