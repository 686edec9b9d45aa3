// Multi-head Latent Attention (DeepSeek-V2/V3; spec §6.1), for one layer and a chunk of tokens.
//
//   c^Q = RMSNorm(W^DQ x) ; [q_nope ; q_rope] = W^UQ c^Q per head     (or W^Q x without q-LoRA)
//   [c^KV ; k^R] = W^DKV x ; c^KV = RMSNorm(c^KV) ; k^R = RoPE(k^R)   -> cached: c^KV and k^R only
//   naive:    k_nope_{j,h} = W^UK_h c^KV_j, v_{j,h} = W^UV_h c^KV_j, softmax over
//             scale·(q_nope·k_nope + q_rope·k^R) of the v's
//   absorbed: q~_h = W^UK_h^T q_nope; scores scale·(q~_h·c^KV_j + q_rope·k^R_j); z_h = sum_j p_j c^KV_j;
//             o_h = W^UV_h z_h   (the same numbers, never decompressing the cache)
//   out = W^O [o_1; ...; o_H]
// The naive form wins for long prompt chunks, the absorbed form for decode; Auto picks per sequence by cost.
#pragma once

#include <cstdint>
#include <string>

#include "model/deepseek_weights.h"
#include "model/kv_cache.h"
#include "model/scratch.h"

namespace r1 {

enum class MlaMode { Auto, Naive, Absorbed };
// "auto" | "naive" | "absorbed" -> MlaMode; r1::Error for anything else.
MlaMode mla_mode_from_name(const std::string& name);

struct MlaChunk {
    const int64_t* pos;      // [n] positions
    KvCache* const* caches;  // [n] each token's sequence
    int64_t n;
};

// xb [n, d] (normed) -> out [n, d]; writes each token's c^KV and k^R into its cache.
void mla_forward(const ModelConfig& c, const DeepSeekLayerWeights& L, int64_t layer, const float* inv_freq,
                 const MlaChunk& chunk, const float* xb, Scratch& s, float* out, MlaMode mode);

}  // namespace r1
