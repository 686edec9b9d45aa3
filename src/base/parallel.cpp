#include "base/parallel.h"

#include <atomic>
#include <thread>

namespace r1 {
namespace {
std::atomic<int> g_threads{0};
}

int num_threads() {
    int n = g_threads.load(std::memory_order_relaxed);
    if (n > 0) return n;
    n = static_cast<int>(std::thread::hardware_concurrency());
    return n > 0 ? n : 1;
}

void set_num_threads(int n) {
    g_threads.store(n > 0 ? n : 0);
}

}  // namespace r1
