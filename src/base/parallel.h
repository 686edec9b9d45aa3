// Threading: a thin layer over OpenMP so callers never write pragmas. Kernels split rows among threads with
// parallel_for (static) or parallel_chunks (balanced); a region with a barrier (parallel_region) serves
// kernels that first quantize the activations together and then multiply.
#pragma once

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <vector>

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

// Runs fn(c, c + 1) for every chunk c of [0, nchunks) across the threads, balanced and in memory order.
// Thread i owns the contiguous run of chunks [i n / nt, (i + 1) n / nt) and takes them front to back, so each
// thread walks one contiguous stretch of the weights and its prefetches (which look ahead of the chunk being
// computed) land on the chunks it computes next. A thread that finishes its run takes chunks from the back of
// the others' runs, so one thread slowed by the OS does not hold the call up. (Handing out chunks from one
// shared counter interleaves the threads every chunk: each then prefetches the other's next chunk into its
// own cache, which halved two-thread decode speed.) Which thread computes a chunk never changes its result.
template <typename F>
void parallel_chunks(int64_t nchunks, F&& fn) {
    int nt = num_threads();
    if (nchunks <= 1 || nt <= 1 || omp_in_parallel()) {
        for (int64_t c = 0; c < nchunks; c++) fn(c, c + 1);
        return;
    }
    if (nchunks < nt) nt = static_cast<int>(nchunks);
    // one (front, back) pair per thread, packed in 64 bits so that owner and thief agree with one CAS; each
    // on its own cache line
    struct alignas(64) Run {
        std::atomic<uint64_t> fb;
    };
    static_assert(sizeof(Run) == 64);
    thread_local std::vector<Run> runs_storage;
    if (runs_storage.size() < static_cast<size_t>(nt))
        runs_storage = std::vector<Run>(static_cast<size_t>(nt));
    Run* runs = runs_storage.data();
    auto pack = [](uint64_t f, uint64_t b) { return f << 32 | b; };
    for (int i = 0; i < nt; i++)
        runs[i].fb.store(
            pack(static_cast<uint64_t>(nchunks * i / nt), static_cast<uint64_t>(nchunks * (i + 1) / nt)),
            std::memory_order_relaxed);
    // takes one chunk of run i from the front (owner) or the back (thief); -1 when the run is empty
    auto take = [&](int i, bool front) -> int64_t {
        uint64_t v = runs[i].fb.load(std::memory_order_relaxed);
        for (;;) {
            const uint64_t f = v >> 32, b = v & 0xffffffffu;
            if (f >= b) return -1;
            const uint64_t next = front ? pack(f + 1, b) : pack(f, b - 1);
            if (runs[i].fb.compare_exchange_weak(v, next, std::memory_order_relaxed))
                return static_cast<int64_t>(front ? f : b - 1);
        }
    };
#pragma omp parallel num_threads(nt)
    {
        // (a team smaller than asked, e.g. under OMP_THREAD_LIMIT, leaves runs without an owner: the
        // stealing loop, which visits every other run, computes them)
        const int ith = omp_get_thread_num();
        for (int64_t c; (c = take(ith, true)) >= 0;) fn(c, c + 1);
        for (int k = 1; k < nt; k++) {
            const int victim = (ith + k) % nt;
            for (int64_t c; (c = take(victim, false)) >= 0;) fn(c, c + 1);
        }
    }
}

inline void barrier() {
#pragma omp barrier
}

}  // namespace r1
