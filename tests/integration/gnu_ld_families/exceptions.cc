/* C++ exceptions in a static executable (registered .eh_frame, no PT_GNU_EH_FRAME). */
#include <cstdio>
#include <stdexcept>
static int depth(int n) {
    if (n == 0) throw std::runtime_error("bottom reached");
    return depth(n - 1) + 1;
}
int main() {
    try { depth(5); } catch (const std::exception &e) { std::printf("caught: %s\n", e.what()); }
    return 0;
}
