// Forward pass of the dense R1-Distill architectures (llama, qwen2), read top to bottom:
//   x = embed(tokens)
//   for each layer:  x += wo · attention(rope(wq·n + bq), rope(wk·n + bk), wv·n + bv)   with n = rmsnorm(x)
//                    x += w_down · (silu(w_gate·n) ⊙ w_up·n)                           with n = rmsnorm(x)
//   logits = output · rmsnorm(x)        (only for the tokens that want them)
// Prefill is matrix-matrix work (all tokens of the chunk at once); decode is the same code with one token.
#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/float16.h"
#include "base/parallel.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "tensor/quant.h"

namespace r1 {
namespace {

void add_bias_rows(float* y, int64_t ld, const std::vector<float>& bias, int64_t n_rows) {
    if (bias.empty()) return;
    for (int64_t t = 0; t < n_rows; t++) add_f32(y + t * ld, bias.data(), static_cast<int64_t>(bias.size()));
}

}  // namespace

void Model::forward_dense_chunk(const Batch& b, int64_t begin, int64_t n, Scratch& s) const {
    const ModelConfig& c = config_;
    const DenseWeights& w = dense_;
    const int64_t d = c.n_embd, qd = c.q_dim(), kvd = c.kv_dim(), ff = c.n_ff, hd = c.head_dim;
    const int64_t group = c.n_head / c.n_head_kv;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const int32_t* tokens = b.tokens.data() + begin;
    const int64_t* pos = b.pos.data() + begin;
    KvCache* const* caches = b.cache.data() + begin;

    // Embedding rows (dequantised from whatever type the table is stored in).
    for (int64_t t = 0; t < n; t++)
        dequantize_row(w.token_embd.type,
                       w.token_embd.data + static_cast<size_t>(tokens[t]) * w.token_embd.row_stride(),
                       s.x.data() + t * d, d);

    for (int64_t l = 0; l < c.n_layer; l++) {
        const DenseLayerWeights& L = w.layers[static_cast<size_t>(l)];

        // ---- attention ----
        rms_norm_rows(s.xb.data(), d, s.x.data(), d, L.attn_norm.data(), n, d, c.rms_eps);
        const MatmulJob qkv[] = {{L.wq, s.xb.data(), d, n, s.q.data(), qd},
                                 {L.wk, s.xb.data(), d, n, s.k.data(), kvd},
                                 {L.wv, s.xb.data(), d, n, s.v.data(), kvd}};
        matmul_batch(qkv, 3);  // one pass (kernels/matmul.h)
        add_bias_rows(s.q.data(), qd, L.bq, n);
        add_bias_rows(s.k.data(), kvd, L.bk, n);
        add_bias_rows(s.v.data(), kvd, L.bv, n);
        // RoPE on q and k, then store k and v at their positions.
        parallel_region([&](int ith, int nth) {
            float* cs = s.rope_cs.data() + static_cast<size_t>(ith) * static_cast<size_t>(c.rope_dim);
            for (int64_t t = ith; t < n; t += nth) {
                rope_apply(s.q.data() + t * qd, c.n_head, hd, c.rope_dim, pos[t], inv_freq_.data(),
                           c.rope_style, 1.0f, cs);
                rope_apply(s.k.data() + t * kvd, c.n_head_kv, hd, c.rope_dim, pos[t], inv_freq_.data(),
                           c.rope_style, 1.0f, cs);
                caches[t]->store(l, pos[t], 0, s.k.data() + t * kvd, kvd);  // row [K | V]
                caches[t]->store(l, pos[t], kvd, s.v.data() + t * kvd, kvd);
            }
        });
        // Attention in blocks: per work item (a block of queries of one sequence, one head) the scores
        // against the cached keys, a causal softmax, and the weighted sum of the cached values
        // (kernels/attention.h).
        plan_attention(caches, pos, n, c.n_head, 0, s.score_block, s.attn_items);
        parallel_region([&](int ith, int nth) {
            float* scores = s.scores.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.score_block);
            int64_t* lens = s.lens.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.lens_stride);
            const int64_t n_items = static_cast<int64_t>(s.attn_items.size());
            for (int64_t it = ith; it < n_items; it += nth) {
                const AttnItem& a = s.attn_items[static_cast<size_t>(it)];
                const KvCache& cache = *caches[a.t0];
                const int64_t kh = a.h0 / group, row = cache.row_size();
                for (int64_t u = 0; u < a.nq; u++) lens[u] = pos[a.t0 + u] + 1;
                const float* q = s.q.data() + a.t0 * qd + a.h0 * hd;
                float* out = s.att.data() + a.t0 * qd + a.h0 * hd;
                if (cache.type() == CacheType::BF16) {  // [K | V] rows of bf16; the queries rounded to match
                    uint16_t* q16 =
                        s.q16.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.max_tokens * hd);
                    for (int64_t u = 0; u < a.nq; u++) f32_to_bf16_row(q + u * qd, q16 + u * hd, hd);
                    const uint16_t* keys = cache.bf16_row(l, 0) + kh * hd;
                    attn_scores_bf16(q16, hd, a.nq, keys, row, a.n_kv, hd, scale, scores, a.n_kv, false);
                    attn_softmax_rows(scores, a.n_kv, a.nq, lens, a.n_kv);
                    attn_weighted_sum_bf16(scores, a.n_kv, a.nq, a.n_kv, keys + kvd, row, hd, out, qd);
                } else {
                    const float* keys = cache.f32_row(l, 0) + kh * hd;
                    attn_scores(q, qd, a.nq, keys, row, a.n_kv, hd, scale, scores, a.n_kv, false);
                    attn_softmax_rows(scores, a.n_kv, a.nq, lens, a.n_kv);
                    attn_weighted_sum(scores, a.n_kv, a.nq, a.n_kv, keys + kvd, row, hd, out, qd);
                }
            }
        });
        matmul(L.wo, s.att.data(), qd, n, s.proj.data(), d);
        for (int64_t t = 0; t < n; t++) add_f32(s.x.data() + t * d, s.proj.data() + t * d, d);

        // ---- feed-forward (SwiGLU) ----
        rms_norm_rows(s.xb.data(), d, s.x.data(), d, L.ffn_norm.data(), n, d, c.rms_eps);
        const MatmulJob gate_up[] = {{L.w_gate, s.xb.data(), d, n, s.gate.data(), ff},
                                     {L.w_up, s.xb.data(), d, n, s.up.data(), ff}};
        matmul_batch(gate_up, 2);
        parallel_for(n, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++)
                silu_mul(s.gate.data() + t * ff, s.gate.data() + t * ff, s.up.data() + t * ff, ff);
        });
        matmul(L.w_down, s.gate.data(), ff, n, s.proj.data(), d);
        for (int64_t t = 0; t < n; t++) add_f32(s.x.data() + t * d, s.proj.data() + t * d, d);
    }
}

}  // namespace r1
