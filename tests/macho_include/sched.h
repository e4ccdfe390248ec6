/* <sched.h> for Darwin: sched_yield only (no affinity interface on macOS). */
#ifndef LH_DARWIN_SCHED_H
#define LH_DARWIN_SCHED_H

#include "_types.h"

__BEGIN_DECLS

int sched_yield(void);

__END_DECLS

#endif
