#include "model/mla.h"

#include <algorithm>
#include <cmath>

#include "base/parallel.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace r1 {
namespace {

struct Dims {
    int64_t H, nope, rope, v, kvl, qk, row;
};

// Where head h's k_nope and v sit in a row of the decompressed buffer.
struct NaiveLayout {
    int64_t stride, k_head, k_off, v_head, v_off;
    int64_t k(int64_t h) const { return h * k_head + k_off; }
    int64_t vv(int64_t h) const { return h * v_head + v_off; }
};

// Decompresses K_nope and V of positions [0, n_kv) of one sequence into s.naive_kv.
NaiveLayout decompress(const DeepSeekLayerWeights& L, const Dims& D, const KvCache& cache, int64_t layer,
                       int64_t n_kv, Scratch& s) {
    const int64_t stride = D.H * (D.nope + D.v);
    const float* latents = cache.row(layer, 0);  // rows of D.row floats; the latent is the first kvl of each
    if (L.wkv_b.rows > 0) {                      // legacy: one product gives [k_nope | v] per head
        matmul(L.wkv_b, latents, D.row, n_kv, s.naive_kv.data(), stride);
        return {stride, D.nope + D.v, 0, D.nope + D.v, D.nope};
    }
    matmul(L.wk_naive.all, latents, D.row, n_kv, s.naive_kv.data(), stride);
    matmul(L.wv.all, latents, D.row, n_kv, s.naive_kv.data() + D.H * D.nope, stride);
    return {stride, D.nope, 0, D.v, D.H * D.nope};
}

// Multiply-adds of the two forms for `n_new` queries over `n_kv` cached positions (per head).
bool prefer_naive(const Dims& D, int64_t n_new, int64_t n_kv) {
    const double naive = static_cast<double>(n_kv) * static_cast<double>(D.kvl * (D.nope + D.v)) +
                         static_cast<double>(n_new) * static_cast<double>(n_kv) * static_cast<double>(D.qk + D.v);
    const double absorbed = static_cast<double>(n_new) *
                            (static_cast<double>(D.kvl * (D.nope + D.v)) +
                             static_cast<double>(n_kv) * static_cast<double>(2 * D.kvl + D.rope));
    return naive < absorbed;
}

}  // namespace

void mla_forward(const ModelConfig& c, const DeepSeekLayerWeights& L, int64_t layer, const float* inv_freq,
                 const MlaChunk& ch, const float* xb, Scratch& s, float* out, MlaMode mode) {
    const Dims D{c.n_head, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim, c.kv_lora_rank, c.qk_head_dim(),
                 c.cache_row()};
    const int64_t n = ch.n, d = c.n_embd, qd = D.H * D.qk, vd = D.H * D.v;
    const float scale = c.attn_scale();

    // ---- projections ----
    if (c.q_lora_rank > 0) {
        matmul(L.wq_a, xb, d, n, s.qa.data(), c.q_lora_rank);
        rms_norm_rows(s.qa.data(), c.q_lora_rank, s.qa.data(), c.q_lora_rank, L.q_a_norm.data(), n, c.q_lora_rank,
                      c.rms_eps);
        matmul(L.wq_b, s.qa.data(), c.q_lora_rank, n, s.q.data(), qd);
    } else {
        matmul(L.wq, xb, d, n, s.q.data(), qd);
    }
    matmul(L.wkv_a, xb, d, n, s.kva.data(), D.kvl + D.rope);

    // ---- RoPE on q_rope (every head) and on the shared k^R; cache [c^KV | k^R] ----
    parallel_region([&](int ith, int nth) {
        float* cs = s.rope_cs.data() + static_cast<size_t>(ith) * static_cast<size_t>(c.rope_dim);
        for (int64_t t = ith; t < n; t += nth) {
            rope_apply(s.q.data() + t * qd + D.nope, D.H, D.qk, D.rope, ch.pos[t], inv_freq, RopeStyle::Norm, 1.0f, cs);
            float* kva = s.kva.data() + t * (D.kvl + D.rope);
            rope_apply(kva + D.kvl, 1, D.rope, D.rope, ch.pos[t], inv_freq, RopeStyle::Norm, 1.0f, cs);
            float* row = ch.caches[t]->row(layer, ch.pos[t]);
            rms_norm(row, kva, L.kv_a_norm.data(), D.kvl, c.rms_eps);
            std::copy_n(kva + D.kvl, D.rope, row + D.kvl);
        }
    });

    // ---- attention ----
    // Sequences whose chunk is long enough run the naive form, one sequence at a time (their K/V are
    // decompressed into one shared buffer); every other token runs the absorbed form, all in one parallel pass.
    auto attend = [&](int64_t t, int64_t h, bool naive, const NaiveLayout& nl, float* scores, float* qt) {
        const float* rows = ch.caches[t]->row(layer, 0);
        const float* q_nope = s.q.data() + t * qd + h * D.qk;
        const float* q_rope = q_nope + D.nope;
        const int64_t len = ch.pos[t] + 1;
        float* o = s.att.data() + t * vd + h * D.v;
        if (naive) {
            const float* kv = s.naive_kv.data();
            for (int64_t j = 0; j < len; j++)
                scores[j] = scale * (dot_f32(q_nope, kv + j * nl.stride + nl.k(h), D.nope) +
                                     dot_f32(q_rope, rows + j * D.row + D.kvl, D.rope));
            softmax_inplace(scores, len);
            std::fill(o, o + D.v, 0.0f);
            for (int64_t j = 0; j < len; j++) axpy_f32(o, scores[j], kv + j * nl.stride + nl.vv(h), D.v);
        } else {
            float* z = qt + D.kvl;
            matvec(L.wk_absorb.head(h), q_nope, qt);  // q~ = W^UK_h^T q_nope  [kv_lora]
            for (int64_t j = 0; j < len; j++)
                scores[j] = scale * (dot_f32(qt, rows + j * D.row, D.kvl) +
                                     dot_f32(q_rope, rows + j * D.row + D.kvl, D.rope));
            softmax_inplace(scores, len);
            std::fill(z, z + D.kvl, 0.0f);
            for (int64_t j = 0; j < len; j++) axpy_f32(z, scores[j], rows + j * D.row, D.kvl);
            matvec(L.wv.head(h), z, o);  // o_h = W^UV_h z  [v]
        }
    };
    // Runs attend() for every (token in `toks`, head) pair across the threads.
    auto run_items = [&](const int32_t* toks, int64_t n_toks, bool naive, const NaiveLayout& nl) {
        parallel_region([&](int ith, int nth) {
            float* scores = s.scores.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.max_ctx);
            float* qt = s.head_tmp.data() + static_cast<size_t>(ith) * static_cast<size_t>(2 * D.kvl);
            const int64_t items = n_toks * D.H;
            for (int64_t it = items * ith / nth; it < items * (ith + 1) / nth; it++)
                attend(toks[it / D.H], it % D.H, naive, nl, scores, qt);
        });
    };
    int32_t* absorbed = s.attn_tokens.data();
    int32_t* group = absorbed + n;
    int64_t n_absorbed = 0;
    for (int64_t t0 = 0; t0 < n; t0++) {
        KvCache* cache = ch.caches[t0];
        bool first = true;  // each sequence is handled at its first token in the chunk
        for (int64_t u = 0; u < t0 && first; u++) first = ch.caches[u] != cache;
        if (!first) continue;
        int64_t n_new = 0, n_kv = 0;
        for (int64_t t = t0; t < n; t++)
            if (ch.caches[t] == cache) group[n_new++] = static_cast<int32_t>(t), n_kv = std::max(n_kv, ch.pos[t] + 1);
        const bool naive = n_kv <= s.naive_rows &&
                           (mode == MlaMode::Naive || (mode == MlaMode::Auto && n_new > 1 && prefer_naive(D, n_new, n_kv)));
        if (naive) {
            run_items(group, n_new, true, decompress(L, D, *cache, layer, n_kv, s));
        } else {
            for (int64_t i = 0; i < n_new; i++) absorbed[n_absorbed++] = group[i];
        }
    }
    if (n_absorbed > 0) run_items(absorbed, n_absorbed, false, NaiveLayout{});
    matmul(L.wo, s.att.data(), vd, n, out, d);
}

}  // namespace r1
