// matmul throughput at Qwen2-1.5B shapes (hidden 1536, FFN 8960, vocab 151936):
//   matvec/<type>/<shape>/threads:N   n = 1 (decode). Counter GB/s = weight bytes streamed per second.
//   Several
//                                     copies of the matrix are cycled so that the weights come from DRAM
//                                     (more than the 32 MB L3), as they do in a real model.
//   gemm/<type>/<shape>/threads:N     n = 512 (prefill). Counter GFLOP/s = 2 * rows * cols * n per second.
//   batch/<type>/<shape>/n:K/threads:N  n = 2..16 (batched decode of K sequences), weights from DRAM as for
//                                     matvec. Counter x1 = time / time of n = 1 (same type and shape).
//   experts/<type>/<calls|batch>/threads:N  one token through 12 matrices of 1408 x 2048 (the gate and up of
//                                     six DeepSeek-V3-shaped experts): 12 matmul() calls, or one
//                                     matmul_batch(). Counter GB/s as for matvec.
//   heads/<type>/<absorb|values>/<calls|batch>/threads:N  MLA decode's per-head products of one token: 16
//                                     heads of W^UK^T [512, 128] (absorb) or W^UV [128, 512] (values), one
//                                     matmul() per head with the heads shared out by parallel_for, or one
//                                     matmul_batch() of 16 jobs. Weights from DRAM; counter GB/s as for
//                                     matvec.
// Set R1_SIMD=scalar|avx2|avx512 to compare levels. Side-by-side numbers against ggml: bench/ggml-compare/.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/parallel.h"
#include "base/rng.h"
#include "kernels/matmul.h"
#include "tensor/quant.h"

namespace {

using namespace r1;

struct Shape {
    const char* name;
    int64_t rows, cols;
};
const Shape kShapes[] = {{"1536x1536", 1536, 1536},
                         {"8960x1536", 8960, 1536},
                         {"1536x8960", 1536, 8960},
                         {"151936x1536", 151936, 1536}};

// `copies` copies of a rows x cols matrix of `type` (64 distinct quantised rows, repeated: quantising the
// whole vocabulary matrix would take minutes and the kernels do not care).
std::vector<uint8_t> make_weights(DType type, int64_t rows, int64_t cols, int copies) {
    const size_t rb = row_bytes(type, cols);
    std::vector<uint8_t> w(rb * static_cast<size_t>(rows) * static_cast<size_t>(copies));
    Rng rng(1);
    std::vector<float> v(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows * copies; r++) {
        if (r < 64) {
            for (auto& f : v) f = 0.02f * rng.normal();
            quantize_row(type, v.data(), w.data() + r * rb, cols);
        } else {
            std::memcpy(w.data() + r * rb, w.data() + (r % 64) * rb, rb);
        }
    }
    return w;
}

void run(benchmark::State& state, DType type, Shape sh, int64_t n, int threads) {
    set_num_threads(threads);
    const size_t rb = row_bytes(type, sh.cols), mat_bytes = rb * static_cast<size_t>(sh.rows);
    const int copies = n <= 16 ? static_cast<int>((size_t{256} << 20) / mat_bytes + 1) : 1;
    const std::vector<uint8_t> w = make_weights(type, sh.rows, sh.cols, copies);
    std::vector<float> x(static_cast<size_t>(n * sh.cols)), y(static_cast<size_t>(n * sh.rows));
    Rng rng(2);
    for (auto& f : x) f = rng.normal();
    int c = 0;
    for (auto _ : state) {
        MatRef m{type, sh.rows, sh.cols, w.data() + static_cast<size_t>(c) * mat_bytes, rb};
        matmul(m, x.data(), sh.cols, n, y.data(), sh.rows);
        benchmark::DoNotOptimize(y.data());
        c = (c + 1) % copies;
    }
    const double iters = static_cast<double>(state.iterations());
    if (n == 1)
        state.counters["GB/s"] =
            benchmark::Counter(iters * static_cast<double>(mat_bytes) / 1e9, benchmark::Counter::kIsRate);
    else
        state.counters["GFLOP/s"] = benchmark::Counter(
            iters * 2.0 * static_cast<double>(sh.rows * sh.cols * n) / 1e9, benchmark::Counter::kIsRate);
    state.SetLabel(simd_level_name());
}

void experts(benchmark::State& state, DType type, bool batched, int threads) {
    set_num_threads(threads);
    constexpr int64_t rows = 1408, cols = 2048, mats = 12;
    const size_t rb = row_bytes(type, cols), mat_bytes = rb * static_cast<size_t>(rows);
    const int copies = static_cast<int>((size_t{256} << 20) / (mat_bytes * mats) + 1);  // from DRAM
    const std::vector<uint8_t> w = make_weights(type, rows * mats, cols, copies);
    std::vector<float> x(static_cast<size_t>(cols)), y(static_cast<size_t>(rows * mats));
    Rng rng(3);
    for (auto& f : x) f = rng.normal();
    std::vector<MatmulJob> jobs(static_cast<size_t>(mats));
    int c = 0;
    for (auto _ : state) {
        for (int64_t i = 0; i < mats; i++) {
            const MatRef m{type, rows, cols, w.data() + (static_cast<size_t>(c) * mats + i) * mat_bytes, rb};
            jobs[static_cast<size_t>(i)] = {m, x.data(), cols, 1, y.data() + i * rows, rows};
            if (!batched) matmul(m, x.data(), cols, 1, y.data() + i * rows, rows);
        }
        if (batched) matmul_batch(jobs.data(), mats);
        benchmark::DoNotOptimize(y.data());
        c = (c + 1) % copies;
    }
    state.counters["GB/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(mat_bytes * mats) / 1e9,
        benchmark::Counter::kIsRate);
    state.SetLabel(simd_level_name());
}

// MLA decode's per-head products for one token, 16 heads: `calls` shares 16 matmul() calls out with
// parallel_for, `batch` makes them one matmul_batch (as mla.cpp does).
void heads(benchmark::State& state, DType type, bool absorb, bool batched, int threads) {
    set_num_threads(threads);
    constexpr int64_t H = 16;
    const int64_t rows = absorb ? 512 : 128, cols = absorb ? 128 : 512;
    const size_t rb = row_bytes(type, cols), head_bytes = rb * static_cast<size_t>(rows);
    const int copies = static_cast<int>((size_t{256} << 20) / (head_bytes * H) + 1);  // from DRAM
    const std::vector<uint8_t> w = make_weights(type, rows * H, cols, copies);
    std::vector<float> x(static_cast<size_t>(H * cols)), y(static_cast<size_t>(H * rows));
    Rng rng(4);
    for (auto& f : x) f = rng.normal();
    int c = 0;
    for (auto _ : state) {
        const uint8_t* base = w.data() + static_cast<size_t>(c) * H * head_bytes;
        if (batched) {
            MatmulJob jobs[H];
            for (int64_t h = 0; h < H; h++) {
                const MatRef m{type, rows, cols, base + static_cast<size_t>(h) * head_bytes, rb};
                jobs[h] = {m, x.data() + h * cols, cols, 1, y.data() + h * rows, rows};
            }
            matmul_batch(jobs, H);
        } else
            parallel_for(H, [&](int64_t h0, int64_t h1) {
                for (int64_t h = h0; h < h1; h++) {
                    const MatRef m{type, rows, cols, base + static_cast<size_t>(h) * head_bytes, rb};
                    matvec(m, x.data() + h * cols, y.data() + h * rows);
                }
            });
        benchmark::DoNotOptimize(y.data());
        c = (c + 1) % copies;
    }
    state.counters["GB/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(head_bytes * H) / 1e9,
        benchmark::Counter::kIsRate);
    state.SetLabel(simd_level_name());
}

}  // namespace

int main(int argc, char** argv) {
    const DType priority[] = {DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F32};
    const DType others[] = {DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                            DType::Q5_1, DType::Q5_K, DType::Q2_K, DType::Q3_K, DType::Q8_0};
    for (int threads : {1, 2}) {
        for (DType t : {DType::Q4_K, DType::Q8_0})
            for (bool batched : {false, true}) {
                std::string name = std::string("experts/") + dtype_name(t) + (batched ? "/batch" : "/calls") +
                                   "/threads:" + std::to_string(threads);
                benchmark::RegisterBenchmark(name.c_str(), experts, t, batched, threads)
                    ->UseRealTime()
                    ->Unit(benchmark::kMicrosecond)
                    ->MinTime(0.3);
            }
        for (DType t : {DType::Q8_0, DType::F16})
            for (bool absorb : {true, false})
                for (bool batched : {false, true}) {
                    std::string name = std::string("heads/") + dtype_name(t) +
                                       (absorb ? "/absorb" : "/values") + (batched ? "/batch" : "/calls") +
                                       "/threads:" + std::to_string(threads);
                    benchmark::RegisterBenchmark(name.c_str(), heads, t, absorb, batched, threads)
                        ->UseRealTime()
                        ->Unit(benchmark::kMicrosecond)
                        ->MinTime(0.3);
                }
        for (DType t : {DType::Q4_K, DType::Q6_K, DType::Q8_0, DType::Q4_0, DType::Q5_K, DType::F16})
            for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{8}, int64_t{16}}) {
                const Shape sh = kShapes[1];
                std::string name = std::string("batch/") + dtype_name(t) + "/" + sh.name +
                                   "/n:" + std::to_string(n) + "/threads:" + std::to_string(threads);
                benchmark::RegisterBenchmark(name.c_str(), run, t, sh, n, threads)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond)
                    ->MinTime(0.3);
            }
        for (DType t : priority)
            for (const Shape& sh : kShapes) {
                if (t == DType::F32 && sh.rows > 100000) continue;  // 0.9 GB
                for (int64_t n : {int64_t{1}, int64_t{512}}) {
                    std::string name = std::string(n == 1 ? "matvec/" : "gemm/") + dtype_name(t) + "/" +
                                       sh.name + "/threads:" + std::to_string(threads);
                    benchmark::RegisterBenchmark(name.c_str(), run, t, sh, n, threads)
                        ->UseRealTime()
                        ->Unit(benchmark::kMillisecond)
                        ->MinTime(0.3);
                }
            }
        for (DType t : others)
            for (int64_t n : {int64_t{1}, int64_t{512}}) {
                const Shape sh = kShapes[1];
                std::string name = std::string(n == 1 ? "matvec/" : "gemm/") + dtype_name(t) + "/" + sh.name +
                                   "/threads:" + std::to_string(threads);
                benchmark::RegisterBenchmark(name.c_str(), run, t, sh, n, threads)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond)
                    ->MinTime(0.3);
            }
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
