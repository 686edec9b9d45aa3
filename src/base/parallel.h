// Threading: a thin layer over OpenMP so callers never write pragmas. Kernels split rows among threads with
// parallel_for; a region with a barrier (parallel_region) serves kernels that first quantize the activations
// together and then multiply.
#pragma once

#include <omp.h>

#include <cstdint>

namespace r1 {

// Number of threads used by parallel_for / parallel_region (default: the number of cores, or $R1_THREADS).
int num_threads();
void set_num_threads(int n);

// Calls fn(begin, end) on contiguous chunks of [0, n) across the threads; small n stays on the calling
// thread.
template <typename F>
void parallel_for(int64_t n, F&& fn, int64_t min_chunk = 1) {
    int nt = num_threads();
    if (nt <= 1 || n <= min_chunk || omp_in_parallel()) {
        fn(int64_t{0}, n);
        return;
    }
    int64_t max_threads = (n + min_chunk - 1) / min_chunk;
    if (max_threads < nt) nt = static_cast<int>(max_threads);
#pragma omp parallel num_threads(nt)
    {
        int ith = omp_get_thread_num(), nth = omp_get_num_threads();
        int64_t begin = n * ith / nth, end = n * (ith + 1) / nth;
        if (begin < end) fn(begin, end);
    }
}

// Runs fn(ith, nth) once on each thread; fn may call barrier().
template <typename F>
void parallel_region(F&& fn) {
    int nt = num_threads();
    if (nt <= 1 || omp_in_parallel()) {
        fn(0, 1);
        return;
    }
#pragma omp parallel num_threads(nt)
    { fn(omp_get_thread_num(), omp_get_num_threads()); }
}

inline void barrier() {
#pragma omp barrier
}

}  // namespace r1
