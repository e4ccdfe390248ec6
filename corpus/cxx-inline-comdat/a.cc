#include <cstdio>
#include "shared.h"

int from_a(int x) { return scaled<3>(x); }

int main()
{
    int r = from_a(1) + from_b(2) + from_a(3);  // 3+0, 6+1, 9+2: the counter is shared
    std::printf("r=%d counter=%d\n", r, counter());
    return r;
}
