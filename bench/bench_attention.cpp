// Attention kernels (kernels/attention.h) at MLA decode shapes: one token's block of heads against a latent
// cache of `keys` rows of 576 floats (kv_lora 512 + rope 64), as DeepSeek-V3's absorbed form reads it.
//   mla_scores/heads:H/keys:N    scores of [q~_h | q_rope_h] against whole rows [c^KV_j | k^R_j] (576 wide)
//   mla_weighted_sum/heads:H/keys:N
//   mla_softmax/heads:H/keys:N   the unnormalised softmax of each head's scores (exp_shifted_inplace)
//   mla_scores_bf16, mla_weighted_sum_bf16   the same over a bf16 cache (half the bytes); huge:1 puts the
//                 cache in 2 MiB pages (HugePageAllocator, as KvCache does), huge:0 in ordinary 4 KiB ones
// Eight caches (one per layer of the V3 bench shape) are cycled, so at 4096 keys (75 MB) the rows come from
// DRAM as in a real model. Counter GB/s = cache bytes read per second.
#include <benchmark/benchmark.h>

#include <vector>

#include "base/float16.h"
#include "base/huge_pages.h"
#include "base/rng.h"
#include "kernels/attention.h"
#include "kernels/ops.h"

namespace {

using namespace r1;

constexpr int64_t kLatent = 512, kRope = 64, kRow = kLatent + kRope, kLayers = 8;

struct Data {
    std::vector<float> cache, q, s, o;
    std::vector<uint16_t> cache16, q16;
    std::vector<uint16_t, HugePageAllocator<uint16_t>> cache16_huge;
    Data(int64_t heads, int64_t keys, bool huge = false)
        : cache(static_cast<size_t>(kLayers * keys * kRow)),
          q(static_cast<size_t>(heads * kRow)),
          s(static_cast<size_t>(heads * keys)),
          o(static_cast<size_t>(heads * kLatent)) {
        Rng rng(7);
        for (auto* v : {&cache, &q, &s})
            for (auto& x : *v) x = rng.normal();
        for (float x : cache) {
            if (huge)
                cache16_huge.push_back(f32_to_bf16(x));
            else
                cache16.push_back(f32_to_bf16(x));
        }
        for (float x : q) q16.push_back(f32_to_bf16(x));
    }
    const float* layer(int64_t l, int64_t keys) const { return cache.data() + (l % kLayers) * keys * kRow; }
    const uint16_t* layer16(int64_t l, int64_t keys) const {
        return (cache16.empty() ? cache16_huge.data() : cache16.data()) + (l % kLayers) * keys * kRow;
    }
};

void mla_scores(benchmark::State& st) {
    const int64_t heads = st.range(0), keys = st.range(1);
    Data d(heads, keys);
    int64_t l = 0;
    for (auto _ : st) {
        const float* c = d.layer(l++, keys);
        attn_scores(d.q.data(), kRow, heads, c, kRow, keys, kRow, 0.1f, d.s.data(), keys, false);
        benchmark::DoNotOptimize(d.s.data());
    }
    st.counters["GB/s"] =
        benchmark::Counter(static_cast<double>(keys * kRow * 4) * 1e-9 * static_cast<double>(st.iterations()),
                           benchmark::Counter::kIsRate);
}

void mla_weighted_sum(benchmark::State& st) {
    const int64_t heads = st.range(0), keys = st.range(1);
    Data d(heads, keys);
    int64_t l = 0;
    for (auto _ : st) {
        attn_weighted_sum(d.s.data(), keys, heads, keys, d.layer(l++, keys), kRow, kLatent, d.o.data(),
                          kLatent);
        benchmark::DoNotOptimize(d.o.data());
    }
    st.counters["GB/s"] = benchmark::Counter(
        static_cast<double>(keys * kLatent * 4) * 1e-9 * static_cast<double>(st.iterations()),
        benchmark::Counter::kIsRate);
}

void mla_softmax(benchmark::State& st) {
    const int64_t heads = st.range(0), keys = st.range(1);
    Data d(heads, keys);
    std::vector<float> work(d.s.size());
    for (auto _ : st) {
        work = d.s;
        float mx;
        for (int64_t h = 0; h < heads; h++) exp_shifted_inplace(work.data() + h * keys, keys, &mx);
        benchmark::DoNotOptimize(work.data());
    }
}

void mla_scores_bf16(benchmark::State& st) {
    const int64_t heads = st.range(0), keys = st.range(1);
    Data d(heads, keys, st.range(2) != 0);
    int64_t l = 0;
    for (auto _ : st) {
        attn_scores_bf16(d.q16.data(), kRow, heads, d.layer16(l++, keys), kRow, keys, kRow, 0.1f, d.s.data(),
                         keys, false);
        benchmark::DoNotOptimize(d.s.data());
    }
    st.counters["GB/s"] =
        benchmark::Counter(static_cast<double>(keys * kRow * 2) * 1e-9 * static_cast<double>(st.iterations()),
                           benchmark::Counter::kIsRate);
}

void mla_weighted_sum_bf16(benchmark::State& st) {
    const int64_t heads = st.range(0), keys = st.range(1);
    Data d(heads, keys, st.range(2) != 0);
    int64_t l = 0;
    for (auto _ : st) {
        attn_weighted_sum_bf16(d.s.data(), keys, heads, keys, d.layer16(l++, keys), kRow, kLatent, d.o.data(),
                               kLatent);
        benchmark::DoNotOptimize(d.o.data());
    }
    st.counters["GB/s"] = benchmark::Counter(
        static_cast<double>(keys * kLatent * 2) * 1e-9 * static_cast<double>(st.iterations()),
        benchmark::Counter::kIsRate);
}

BENCHMARK(mla_scores)
    ->ArgNames({"heads", "keys"})
    ->ArgsProduct({{8, 16}, {512, 4096}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(mla_softmax)
    ->ArgNames({"heads", "keys"})
    ->ArgsProduct({{16}, {4096}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(mla_weighted_sum)
    ->ArgNames({"heads", "keys"})
    ->ArgsProduct({{8, 16}, {512, 4096}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(mla_scores_bf16)
    ->ArgNames({"heads", "keys", "huge"})
    ->ArgsProduct({{8, 16}, {512, 4096}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(mla_weighted_sum_bf16)
    ->ArgNames({"heads", "keys", "huge"})
    ->ArgsProduct({{8, 16}, {512, 4096}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
