// Speed measurement like llama-bench: pp<N> = one forward over an N-token prompt in a fresh cache; tg<N> = N
// single-token decodes from an empty cache. Each test runs once to warm up, then `reps` timed times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/kv_cache.h"

namespace r1 {

class Model;

struct BenchParams {
    int64_t n_prompt = 512;  // 0: skip pp
    int64_t n_gen = 128;     // 0: skip tg
    int reps = 3;
    int64_t n_batch = 512;
    int64_t depth = 0;   // tokens already in the context before each test (filled untimed), as llama-bench -d
    uint64_t seed = 42;  // random token ids
    CacheType cache_type = CacheType::BF16;
    bool progress = true;
};

struct BenchResult {
    std::string test;  // "pp512", "tg128" (+ " @ d4096" with a depth)
    int64_t n_tokens = 0;
    int threads = 0;
    double avg_ts = 0, stddev_ts = 0;  // tokens per second over the reps
    std::vector<double> samples_ts;
};

std::vector<BenchResult> run_bench(const Model& model, const BenchParams& p);

}  // namespace r1
