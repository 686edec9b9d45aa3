// Forward pass of the dense R1-Distill architectures (llama, qwen2), read top to bottom:
//   x = embed(tokens)
//   for each layer:  x += wo · attention(rope(wq·n + bq), rope(wk·n + bk), wv·n + bv)   with n = rmsnorm(x)
//                    x += w_down · (silu(w_gate·n) ⊙ w_up·n)                           with n = rmsnorm(x)
//   logits = output · rmsnorm(x)        (only for the tokens that want them)
// Prefill is matrix-matrix work (all tokens of the chunk at once); decode is the same code with one token.
#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/parallel.h"
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
        dequantize_row(w.token_embd.type, w.token_embd.data + static_cast<size_t>(tokens[t]) * w.token_embd.row_stride(),
                       s.x.data() + t * d, d);

    for (int64_t l = 0; l < c.n_layer; l++) {
        const DenseLayerWeights& L = w.layers[static_cast<size_t>(l)];

        // ---- attention ----
        rms_norm_rows(s.xb.data(), d, s.x.data(), d, L.attn_norm.data(), n, d, c.rms_eps);
        matmul(L.wq, s.xb.data(), d, n, s.q.data(), qd);
        matmul(L.wk, s.xb.data(), d, n, s.k.data(), kvd);
        matmul(L.wv, s.xb.data(), d, n, s.v.data(), kvd);
        add_bias_rows(s.q.data(), qd, L.bq, n);
        add_bias_rows(s.k.data(), kvd, L.bk, n);
        add_bias_rows(s.v.data(), kvd, L.bv, n);
        // RoPE on q and k, then store k and v at their positions.
        parallel_region([&](int ith, int nth) {
            float* cs = s.rope_cs.data() + static_cast<size_t>(ith) * static_cast<size_t>(c.rope_dim);
            for (int64_t t = ith; t < n; t += nth) {
                rope_apply(s.q.data() + t * qd, c.n_head, hd, c.rope_dim, pos[t], inv_freq_.data(), c.rope_style,
                           1.0f, cs);
                rope_apply(s.k.data() + t * kvd, c.n_head_kv, hd, c.rope_dim, pos[t], inv_freq_.data(),
                           c.rope_style, 1.0f, cs);
                float* row = caches[t]->row(l, pos[t]);  // [K | V]
                std::copy_n(s.k.data() + t * kvd, kvd, row);
                std::copy_n(s.v.data() + t * kvd, kvd, row + kvd);
            }
        });
        // One work item per (token, head); each query attends to positions 0..pos of its own cache.
        parallel_region([&](int ith, int nth) {
            float* scores = s.scores.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.max_ctx);
            const int64_t items = n * c.n_head;
            for (int64_t it = items * ith / nth; it < items * (ith + 1) / nth; it++) {
                const int64_t t = it / c.n_head, h = it % c.n_head, kh = h / group;
                const KvCache* kv = caches[t];
                const float* base = kv->row(l, 0);
                attention_head(s.q.data() + t * qd + h * hd, base + kh * hd, kv->row_size(), base + kvd + kh * hd,
                               kv->row_size(), pos[t] + 1, hd, hd, scale, scores, s.att.data() + t * qd + h * hd);
            }
        });
        matmul(L.wo, s.att.data(), qd, n, s.proj.data(), d);
        for (int64_t t = 0; t < n; t++) add_f32(s.x.data() + t * d, s.proj.data() + t * d, d);

        // ---- feed-forward (SwiGLU) ----
        rms_norm_rows(s.xb.data(), d, s.x.data(), d, L.ffn_norm.data(), n, d, c.rms_eps);
        matmul(L.w_gate, s.xb.data(), d, n, s.gate.data(), ff);
        matmul(L.w_up, s.xb.data(), d, n, s.up.data(), ff);
        parallel_for(
            n, [&](int64_t t0, int64_t t1) {
                for (int64_t t = t0; t < t1; t++)
                    silu_mul(s.gate.data() + t * ff, s.gate.data() + t * ff, s.up.data() + t * ff, ff);
            });
        matmul(L.w_down, s.gate.data(), ff, n, s.proj.data(), d);
        for (int64_t t = 0; t < n; t++) add_f32(s.x.data() + t * d, s.proj.data() + t * d, d);
    }
}

}  // namespace r1
