// Perplexity with llama.cpp's definition (tools/perplexity), so numbers compare across engines:
// the tokens (BOS first when the model adds one) are cut into chunks of n_ctx; each chunk runs in a fresh
// cache with its first token replaced by BOS (when add_bos); only the second half of each chunk is scored
// (positions n_ctx/2 .. n_ctx-2 predicting the next token). PPL = exp(mean NLL), with the same +/- estimate.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "model/kv_cache.h"

namespace r1 {

class Model;

struct PerplexityResult {
    double ppl = 0, ppl_err = 0;
    int64_t n_chunks = 0, n_scored = 0;
    std::vector<double> running_ppl;  // after each chunk: llama.cpp's "[1]x,[2]y," line
};

// `bos` < 0: no BOS substitution. Throws r1::Error if tokens.size() < 2 * n_ctx (as llama.cpp).
// on_chunk(i, running_ppl) is called after each chunk (progress reporting).
PerplexityResult compute_perplexity(const Model& model, const std::vector<int32_t>& tokens, int64_t n_ctx,
                                    int32_t bos, int64_t n_batch, CacheType cache_type,
                                    const std::function<void(int64_t, double)>& on_chunk = {});

}  // namespace r1
