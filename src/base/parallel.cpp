#include "base/parallel.h"

#include <atomic>
#include <cstdlib>
#include <thread>

namespace r1 {
namespace {
std::atomic<int> g_threads{0};
}

int num_threads() {
    int n = g_threads.load(std::memory_order_relaxed);
    if (n > 0) return n;
    // R1_THREADS caps the default (the test suite runs one thread per test, two tests at a time, so threads
    // never wait on a core another test holds).
    static const int from_env = [] {
        const char* s = std::getenv("R1_THREADS");
        return s ? std::atoi(s) : 0;
    }();
    if (from_env > 0) return from_env;
    n = static_cast<int>(std::thread::hardware_concurrency());
    return n > 0 ? n : 1;
}

void set_num_threads(int n) {
    g_threads.store(n > 0 ? n : 0);
}

}  // namespace r1
