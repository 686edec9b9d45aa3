// Memory read bandwidth with 1 and 2 threads: the ceiling for token generation, which must stream every
// weight byte once per token (tokens/s <= GB/s / model bytes).
//
// Each thread sums its own 256 MiB slice of one buffer (far beyond any cache), so the numbers are DRAM reads.
// The sum is over 64-bit integers (1-cycle adds, several accumulators), so the kernels are load-bound and not
// limited by floating-point add latency. Three kernels: a portable one (plain C++, vectorised by the compiler
// for the baseline target), AVX2 and AVX-512 (target attributes, run only where the CPU has them).
//
// Output: Google Benchmark's table; the "GB/s" column is decimal gigabytes per second summed over the threads
// (bytes read by all threads / wall time). Run: build/bin/bench_membw [--benchmark_filter=avx512]
//
// With R1_MEMBW_FILE=PATH (a file of at least 512 MiB, e.g. a model, already in the page cache: run twice),
// two more rows read the file's first 512 MiB with the AVX-512 kernel through two mappings: file_pmd maps it
// as r1 maps model files (base/mapped_file.h: at a 2 MiB-aligned address, MADV_HUGEPAGE, so 2 MiB page-cache
// folios get one page-table entry each), file_pte 4 KiB off that alignment (512 entries per 2 MiB).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/mapped_file.h"

namespace {

constexpr size_t kSliceBytes = size_t{256} << 20;  // per thread
constexpr int kMaxThreads = 2;

// [kMaxThreads, kSliceBytes] bytes, 64-byte aligned, every page touched (written) once before timing.
const uint8_t* shared_buffer() {
    static const uint8_t* buffer = [] {
        void* p = std::aligned_alloc(64, kSliceBytes * kMaxThreads);
        if (!p) throw std::bad_alloc();
        auto* bytes = static_cast<uint8_t*>(p);
        for (size_t i = 0; i < kSliceBytes * kMaxThreads; ++i) bytes[i] = static_cast<uint8_t>(i * 131 + 7);
        return bytes;
    }();
    return buffer;
}

uint64_t sum_portable(const uint8_t* data, size_t bytes) {
    const auto* w = reinterpret_cast<const uint64_t*>(data);
    const size_t n = bytes / sizeof(uint64_t);
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < n; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    return a + b + c + d;
}

__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* data, size_t bytes) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (size_t i = 0; i < bytes; i += 128) {  // 4 x 32-byte loads per step
        for (int k = 0; k < 4; ++k) {
            const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(data + i + 32 * k));
            acc[k] = _mm256_add_epi64(acc[k], v);
        }
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]), _mm256_add_epi64(acc[2], acc[3]));
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint8_t* data, size_t bytes) {
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    for (size_t i = 0; i < bytes; i += 256) {  // 4 x 64-byte loads per step
        for (int k = 0; k < 4; ++k) {
            const __m512i v = _mm512_load_si512(data + i + 64 * k);
            acc[k] = _mm512_add_epi64(acc[k], v);
        }
    }
    const __m512i s = _mm512_add_epi64(_mm512_add_epi64(acc[0], acc[1]), _mm512_add_epi64(acc[2], acc[3]));
    alignas(64) uint64_t lanes[8];  // (not _mm512_reduce_add_epi64: g++ 12 warns falsely inside it)
    _mm512_store_si512(lanes, s);
    uint64_t total = 0;
    for (uint64_t lane : lanes) total += lane;
    return total;
}

using SumFn = uint64_t (*)(const uint8_t*, size_t);

void run_read(benchmark::State& state, SumFn fn, bool supported) {
    if (!supported) {
        state.SkipWithError("this CPU lacks the instruction set of this kernel");
        return;
    }
    if (state.thread_index() >= kMaxThreads) {
        state.SkipWithError("more threads than buffer slices");
        return;
    }
    const uint8_t* slice = shared_buffer() + kSliceBytes * static_cast<size_t>(state.thread_index());
    for (auto _ : state) {
        benchmark::DoNotOptimize(fn(slice, kSliceBytes));
    }
    // Summed over threads and divided by the (per-thread average) wall time: the aggregate bandwidth.
    state.counters["GB/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kSliceBytes / 1e9,
                                                benchmark::Counter::kIsRate);
}

void BM_membw_read_portable(benchmark::State& state) {
    run_read(state, sum_portable, true);
}
void BM_membw_read_avx2(benchmark::State& state) {
    run_read(state, sum_avx2, __builtin_cpu_supports("avx2"));
}
void BM_membw_read_avx512(benchmark::State& state) {
    run_read(state, sum_avx512, __builtin_cpu_supports("avx512f"));
}

const char* membw_file() {
    return std::getenv("R1_MEMBW_FILE");
}

// The file mapped 4 KiB past a 2 MiB boundary (never unmapped: it lives as long as the benchmark process).
const uint8_t* misaligned_mapping(const char* path, size_t bytes) {
    constexpr size_t kAlign = size_t{2} << 20;
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    void* reserved = ::mmap(nullptr, bytes + 2 * kAlign, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED) {
        ::close(fd);
        return nullptr;
    }
    const uintptr_t at =
        ((reinterpret_cast<uintptr_t>(reserved) + kAlign - 1) & ~(uintptr_t{kAlign} - 1)) + 4096;
    void* p = ::mmap(reinterpret_cast<void*>(at), bytes, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    ::close(fd);
    return p == MAP_FAILED ? nullptr : static_cast<const uint8_t*>(p);
}

void run_file(benchmark::State& state, bool pmd) {
    const char* path = membw_file();
    if (!path) {
        state.SkipWithError("set R1_MEMBW_FILE to a file of at least 512 MiB");
        return;
    }
    if (!__builtin_cpu_supports("avx512f") || state.thread_index() >= kMaxThreads) {
        state.SkipWithError("needs AVX-512 and at most 2 threads");
        return;
    }
    static const r1::MappedFile* file = new r1::MappedFile(path);  // as r1 maps models (kept to the end)
    static const uint8_t* pte = misaligned_mapping(path, kSliceBytes * kMaxThreads);
    if (file->size() < kSliceBytes * kMaxThreads || !pte) {
        state.SkipWithError("the file is smaller than 512 MiB, or could not be mapped");
        return;
    }
    const uint8_t* slice =
        (pmd ? file->data() : pte) + kSliceBytes * static_cast<size_t>(state.thread_index());
    for (auto _ : state) {
        benchmark::DoNotOptimize(sum_avx512(slice, kSliceBytes));
    }
    state.counters["GB/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kSliceBytes / 1e9,
                                                benchmark::Counter::kIsRate);
}

void BM_membw_file_pmd(benchmark::State& state) {
    run_file(state, true);
}
void BM_membw_file_pte(benchmark::State& state) {
    run_file(state, false);
}

// Wall time, not CPU time: bandwidth is bytes per second of real time.
BENCHMARK(BM_membw_read_portable)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_membw_read_avx2)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_membw_read_avx512)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_membw_file_pmd)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_membw_file_pte)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
