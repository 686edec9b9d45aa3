// Per-sequence state: the K/V cache of one sequence (f32), and the Batch that names which tokens of which
// sequences a forward call runs. Weights are shared read-only; each sequence owns its cache; scratch belongs to
// the caller (model/scratch.h).
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace r1 {

// The cache of one sequence: per layer and position one row of config.cache_row() floats —
//   dense (llama, qwen2): [ K (n_head_kv*head_dim) | V (n_head_kv*head_dim) ]
//   deepseek2 (MLA):      [ c_kv (kv_lora_rank, normalised latent) | k_rope (qk_rope_head_dim, roped) ]
// which for DeepSeek-V3/R1 is 576 values per token per layer, shared by all heads.
class KvCache {
public:
    KvCache(const ModelConfig& c, int64_t n_ctx);
    int64_t n_ctx() const { return n_ctx_; }
    int64_t row_size() const { return row_; }
    size_t bytes() const { return data_.size() * sizeof(float); }
    float* row(int64_t layer, int64_t pos) { return data_.data() + (layer * n_ctx_ + pos) * row_; }
    const float* row(int64_t layer, int64_t pos) const { return data_.data() + (layer * n_ctx_ + pos) * row_; }

private:
    int64_t n_ctx_, row_;
    std::vector<float> data_;  // [n_layer, n_ctx, row]
};

// Tokens for one forward call. Token i sits at position pos[i] of sequence cache[i] and attends to positions
// 0..pos[i] of that cache (causal), which must already be filled (earlier calls, or earlier in this batch).
struct Batch {
    std::vector<int32_t> tokens;
    std::vector<int64_t> pos;
    std::vector<KvCache*> cache;
    std::vector<uint8_t> want_logits;  // 1: write this token's logits (in batch order) to the output

    void clear() {
        tokens.clear();
        pos.clear();
        cache.clear();
        want_logits.clear();
    }
    void add(int32_t token, int64_t p, KvCache* c, bool logits) {
        tokens.push_back(token);
        pos.push_back(p);
        cache.push_back(c);
        want_logits.push_back(logits ? 1 : 0);
    }
    int64_t size() const { return static_cast<int64_t>(tokens.size()); }
    int64_t n_logits() const;
};

}  // namespace r1
