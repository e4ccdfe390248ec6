/* C++ exceptions in a static -pthread executable, thrown in main and in a thread. */
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
static int depth(int n) {
    if (n == 0) throw std::runtime_error("bottom reached");
    return depth(n - 1) + 1;
}
int main() {
    try {
        depth(5);
    } catch (const std::exception &e) {
        std::printf("caught: %s\n", e.what());
    }
    int from_thread = 0;
    std::thread t([&] {
        try { throw 42; } catch (int v) { from_thread = v; }
    });
    t.join();
    std::printf("thread caught %d\n", from_thread);
    return 0;
}
