// Per-sequence state: the K/V cache of one sequence (f32 or bf16), and the Batch that names which tokens of
// which sequences a forward call runs. Weights are shared read-only; each sequence owns its cache; scratch
// belongs to the caller (model/scratch.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/huge_pages.h"
#include "model/config.h"

namespace r1 {

// Element type of a cache. bf16 (the default of the CLI and the server, as DeepSeek's reference keeps its
// caches) halves the memory and the bytes a decode step reads, and runs attention as bf16 dot products where
// the CPU has them (kernels/attention.h); values keep 8 significant bits. f32 stores what the model computed
// exactly: the validation against references uses it.
enum class CacheType { F32, BF16 };
CacheType cache_type_from_name(const std::string& name);  // "f32" | "bf16"
const char* cache_type_name(CacheType t);
size_t cache_type_size(CacheType t);
size_t kv_cache_bytes_per_token(const ModelConfig& c, CacheType t);

// The cache of one sequence: per layer and position one row of config.cache_row() values —
//   dense (llama, qwen2): [ K (n_head_kv*head_dim) | V (n_head_kv*head_dim) ]
//   deepseek2 (MLA):      [ c_kv (kv_lora_rank, normalised latent) | k_rope (qk_rope_head_dim, roped) ]
// which for DeepSeek-V3/R1 is 576 values per token per layer, shared by all heads. Rows are read in place
// (f32_row / bf16_row, for the cache's own type) and written through store(), which rounds to the type.
class KvCache {
  public:
    KvCache(const ModelConfig& c, int64_t n_ctx, CacheType type);
    int64_t n_ctx() const { return n_ctx_; }
    int64_t row_size() const { return row_; }
    CacheType type() const { return type_; }
    size_t bytes() const { return f32_.size() * sizeof(float) + bf16_.size() * sizeof(uint16_t); }
    const float* f32_row(int64_t layer, int64_t pos) const;
    const uint16_t* bf16_row(int64_t layer, int64_t pos) const;
    // Values [offset, offset + n) of the row at (layer, pos) = src.
    void store(int64_t layer, int64_t pos, int64_t offset, const float* src, int64_t n);
    // Rows [pos0, pos0 + n) of a layer as f32, into dst [n, row_size()].
    void load_rows(int64_t layer, int64_t pos0, int64_t n, float* dst) const;

  private:
    size_t index(int64_t layer, int64_t pos) const {
        return static_cast<size_t>((layer * n_ctx_ + pos) * row_);
    }
    int64_t n_ctx_, row_;
    CacheType type_;
    // [n_layer, n_ctx, row], one of the two by type; in 2 MiB pages where the system allows (decode reads the
    // whole cache every token: bench_attention's huge:0/1 rows measure the difference)
    std::vector<float, HugePageAllocator<float>> f32_;
    std::vector<uint16_t, HugePageAllocator<uint16_t>> bf16_;
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
