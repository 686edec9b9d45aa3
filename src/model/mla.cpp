#include "model/mla.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/parallel.h"
#include "kernels/attention.h"
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
    const double naive =
        static_cast<double>(n_kv) * static_cast<double>(D.kvl * (D.nope + D.v)) +
        static_cast<double>(n_new) * static_cast<double>(n_kv) * static_cast<double>(D.qk + D.v);
    const double absorbed =
        static_cast<double>(n_new) * (static_cast<double>(D.kvl * (D.nope + D.v)) +
                                      static_cast<double>(n_kv) * static_cast<double>(2 * D.kvl + D.rope));
    return naive < absorbed;
}

}  // namespace

MlaMode mla_mode_from_name(const std::string& name) {
    if (name == "auto") return MlaMode::Auto;
    if (name == "naive") return MlaMode::Naive;
    if (name == "absorbed") return MlaMode::Absorbed;
    fail("unknown MLA form '%s' (expected auto, naive or absorbed)", name.c_str());
}

void mla_forward(const ModelConfig& c, const DeepSeekLayerWeights& L, int64_t layer, const float* inv_freq,
                 const MlaChunk& ch, const float* xb, Scratch& s, float* out, MlaMode mode) {
    const Dims D{c.n_head,       c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim,
                 c.kv_lora_rank, c.qk_head_dim(),    c.cache_row()};
    const int64_t n = ch.n, d = c.n_embd, qd = D.H * D.qk, vd = D.H * D.v;
    const float scale = c.attn_scale();

    // ---- projections ----
    if (c.q_lora_rank > 0) {
        matmul(L.wq_a, xb, d, n, s.qa.data(), c.q_lora_rank);
        rms_norm_rows(s.qa.data(), c.q_lora_rank, s.qa.data(), c.q_lora_rank, L.q_a_norm.data(), n,
                      c.q_lora_rank, c.rms_eps);
        matmul(L.wq_b, s.qa.data(), c.q_lora_rank, n, s.q.data(), qd);
    } else {
        matmul(L.wq, xb, d, n, s.q.data(), qd);
    }
    matmul(L.wkv_a, xb, d, n, s.kva.data(), D.kvl + D.rope);

    // ---- RoPE on q_rope (every head) and on the shared k^R; cache [c^KV | k^R] ----
    parallel_region([&](int ith, int nth) {
        float* cs = s.rope_cs.data() + static_cast<size_t>(ith) * static_cast<size_t>(c.rope_dim);
        for (int64_t t = ith; t < n; t += nth) {
            rope_apply(s.q.data() + t * qd + D.nope, D.H, D.qk, D.rope, ch.pos[t], inv_freq, RopeStyle::Norm,
                       1.0f, cs);
            float* kva = s.kva.data() + t * (D.kvl + D.rope);
            rope_apply(kva + D.kvl, 1, D.rope, D.rope, ch.pos[t], inv_freq, RopeStyle::Norm, 1.0f, cs);
            float* row = ch.caches[t]->row(layer, ch.pos[t]);
            rms_norm(row, kva, L.kv_a_norm.data(), D.kvl, c.rms_eps);
            std::copy_n(kva + D.kvl, D.rope, row + D.kvl);
        }
    });

    // ---- attention ----
    // Sequences with a long enough chunk run the naive form, one sequence at a time: their K_nope and V are
    // decompressed into one shared buffer, then each (block of queries, head) is scored against
    //   [k_nope_j | k^R_j] as two accumulated products, softmaxed causally, and weighted over v_j.
    // Every other token runs the absorbed form: its queries q~_h (all heads, or a block of them) are scored
    // against the cache rows [c^KV_j | k^R_j] directly, weighted over c^KV_j, and projected by W^UV_h.
    // Within a naive sequence, each work item is a block of queries of one head.
    auto run_naive = [&](int64_t t0, int64_t nt, int64_t n_kv, const NaiveLayout& nl) {
        plan_attention(ch.caches + t0, ch.pos + t0, nt, D.H, 0, s.score_block, s.attn_items);
        const float* rows = ch.caches[t0]->row(layer, 0);
        parallel_region([&](int ith, int nth) {
            float* sc = s.scores.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.score_block);
            int64_t* lens = s.lens.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.lens_stride);
            const int64_t n_items = static_cast<int64_t>(s.attn_items.size());
            for (int64_t it = ith; it < n_items; it += nth) {
                const AttnItem& a = s.attn_items[static_cast<size_t>(it)];
                const int64_t t = t0 + a.t0, h = a.h0, kv = a.n_kv;
                for (int64_t u = 0; u < a.nq; u++) lens[u] = ch.pos[t + u] + 1;
                const float* q = s.q.data() + t * qd + h * D.qk;
                attn_scores(q, qd, a.nq, s.naive_kv.data() + nl.k(h), nl.stride, kv, D.nope, scale, sc, kv,
                            false);
                attn_scores(q + D.nope, qd, a.nq, rows + D.kvl, D.row, kv, D.rope, scale, sc, kv, true);
                attn_softmax_rows(sc, kv, a.nq, lens, kv);
                attn_weighted_sum(sc, kv, a.nq, kv, s.naive_kv.data() + nl.vv(h), nl.stride, D.v,
                                  s.att.data() + t * vd + h * D.v, vd);
            }
        });
        (void)n_kv;
    };
    // Absorbed: q~_h = W^UK_h^T q_nope for every (token, head) first, then one work item per token and block
    // of heads (the heads of a token share every cache row they read).
    auto run_absorbed = [&](const int32_t* toks, int64_t n_toks) {
        const int64_t items_qt = n_toks * D.H;
        parallel_for(items_qt, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; i++) {
                const int64_t t = toks[i / D.H], h = i % D.H;
                matvec(L.wk_absorb.head(h), s.q.data() + t * qd + h * D.qk,
                       s.qt.data() + (t * D.H + h) * D.kvl);
            }
        });
        const int64_t heads_per_item = std::max<int64_t>(1, (D.H + s.n_threads - 1) / s.n_threads);
        s.attn_items.clear();
        for (int64_t i = 0; i < n_toks; i++) {
            const int64_t t = toks[i];
            const int64_t nh =
                std::max<int64_t>(1, std::min(heads_per_item, s.score_block / (ch.pos[t] + 1)));
            for (int64_t h = 0; h < D.H; h += nh)
                s.attn_items.push_back({static_cast<int32_t>(t), 1, static_cast<int32_t>(h),
                                        static_cast<int32_t>(std::min(nh, D.H - h)), ch.pos[t] + 1});
        }
        parallel_region([&](int ith, int nth) {
            float* sc = s.scores.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.score_block);
            int64_t* lens = s.lens.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.lens_stride);
            const int64_t n_items = static_cast<int64_t>(s.attn_items.size());
            for (int64_t it = ith; it < n_items; it += nth) {
                const AttnItem& a = s.attn_items[static_cast<size_t>(it)];
                const int64_t t = a.t0, kv = a.n_kv;
                const float* rows = ch.caches[t]->row(layer, 0);
                for (int64_t u = 0; u < a.nh; u++) lens[u] = kv;
                const float* qt = s.qt.data() + (t * D.H + a.h0) * D.kvl;      // [nh, kv_lora]
                const float* qr = s.q.data() + t * qd + a.h0 * D.qk + D.nope;  // [nh, rope], stride qk
                attn_scores(qt, D.kvl, a.nh, rows, D.row, kv, D.kvl, scale, sc, kv, false);
                attn_scores(qr, D.qk, a.nh, rows + D.kvl, D.row, kv, D.rope, scale, sc, kv, true);
                attn_softmax_rows(sc, kv, a.nh, lens, kv);
                float* z = s.z.data() + (t * D.H + a.h0) * D.kvl;
                attn_weighted_sum(sc, kv, a.nh, kv, rows, D.row, D.kvl, z, D.kvl);
                for (int64_t h = a.h0; h < a.h0 + a.nh; h++)  // o_h = W^UV_h z_h
                    matvec(L.wv.head(h), s.z.data() + (t * D.H + h) * D.kvl, s.att.data() + t * vd + h * D.v);
            }
        });
    };

    int32_t* absorbed = s.attn_tokens.data();
    int64_t n_absorbed = 0;
    for (int64_t t0 = 0; t0 < n;) {  // runs of consecutive tokens of one sequence
        int64_t t1 = t0 + 1;
        while (t1 < n && ch.caches[t1] == ch.caches[t0]) t1++;
        int64_t n_kv = 0;
        for (int64_t t = t0; t < t1; t++) n_kv = std::max(n_kv, ch.pos[t] + 1);
        const int64_t n_new = t1 - t0;
        const bool naive =
            n_kv <= s.naive_rows &&
            (mode == MlaMode::Naive || (mode == MlaMode::Auto && n_new > 1 && prefer_naive(D, n_new, n_kv)));
        if (naive) {
            run_naive(t0, n_new, n_kv, decompress(L, D, *ch.caches[t0], layer, n_kv, s));
        } else {
            for (int64_t t = t0; t < t1; t++) absorbed[n_absorbed++] = static_cast<int32_t>(t);
        }
        t0 = t1;
    }
    if (n_absorbed > 0) run_absorbed(absorbed, n_absorbed);
    matmul(L.wo, s.att.data(), vd, n, out, d);
}

}  // namespace r1
