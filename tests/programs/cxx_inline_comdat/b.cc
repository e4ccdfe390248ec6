// Object b instantiates the same inline functions and templates as the others.
#include "shared.h"

int from_b() { return next_id() + Box<int>(0).doubled() + Max<int>::of(0, 0) + (int)sum_of<long>(0); }
const void *addr_b() { return reinterpret_cast<const void *>(&next_id); }
