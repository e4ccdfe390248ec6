#include "shared.h"

int from_b(int x) { return scaled<3>(x); }
