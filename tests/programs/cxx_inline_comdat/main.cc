// C++ inline functions, templates and static locals of inline functions: each object has its
// own COMDAT group copy; the linker must keep exactly one (one counter, one address).
#include <cstdio>
#include "shared.h"

int from_a();
int from_b();
const void *addr_a();
const void *addr_b();

int main()
{
    int a = from_a(), b = from_b(), c = next_id();
    std::printf("ids %d %d %d\n", a, b, c);
    std::printf("one instance of next_id: %d\n", addr_a() == addr_b());
    std::printf("Box<int> %d, Box<double> %.1f\n", Box<int>(4).doubled(), Box<double>(1.25).doubled());
    std::printf("max %d, sum %ld\n", Max<int>::of(3, 9), sum_of<long>(5));
    return 0;
}
