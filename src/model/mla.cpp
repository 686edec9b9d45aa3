#include "model/mla.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/float16.h"
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

// The f32 rows [0, n_kv) of one sequence's layer: in place for an f32 cache, widened into s.naive_rows_f32
// for a bf16 one.
const float* f32_rows(const KvCache& cache, int64_t layer, int64_t n_kv, Scratch& s) {
    if (cache.type() == CacheType::F32) return cache.f32_row(layer, 0);
    cache.load_rows(layer, 0, n_kv, s.naive_rows_f32.data());
    return s.naive_rows_f32.data();
}

// Decompresses K_nope and V of positions [0, n_kv) of one sequence (rows: its cache rows as f32) into
// s.naive_kv.
NaiveLayout decompress(const DeepSeekLayerWeights& L, const Dims& D, const float* latents, int64_t n_kv,
                       Scratch& s) {
    const int64_t stride = D.H * (D.nope + D.v);  // latents: rows of D.row floats, the latent first in each
    if (L.wkv_b.rows > 0) {                       // legacy: one product gives [k_nope | v] per head
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
    // (the products of xb in one pass: kernels/matmul.h)
    const MatmulJob kv_a{L.wkv_a, xb, d, n, s.kva.data(), D.kvl + D.rope};
    if (c.q_lora_rank > 0) {
        const MatmulJob jobs[] = {{L.wq_a, xb, d, n, s.qa.data(), c.q_lora_rank}, kv_a};
        matmul_batch(jobs, 2);
        rms_norm_rows(s.qa.data(), c.q_lora_rank, s.qa.data(), c.q_lora_rank, L.q_a_norm.data(), n,
                      c.q_lora_rank, c.rms_eps);
        matmul(L.wq_b, s.qa.data(), c.q_lora_rank, n, s.q.data(), qd);
    } else {
        const MatmulJob jobs[] = {{L.wq, xb, d, n, s.q.data(), qd}, kv_a};
        matmul_batch(jobs, 2);
    }

    // ---- RoPE on q_rope (every head) and on the shared k^R; cache [c^KV | k^R] ----
    parallel_region([&](int ith, int nth) {
        float* cs = s.rope_cs.data() + static_cast<size_t>(ith) * static_cast<size_t>(c.rope_dim);
        for (int64_t t = ith; t < n; t += nth) {
            rope_apply(s.q.data() + t * qd + D.nope, D.H, D.qk, D.rope, ch.pos[t], inv_freq, RopeStyle::Norm,
                       1.0f, cs);
            float* kva = s.kva.data() + t * (D.kvl + D.rope);
            rope_apply(kva + D.kvl, 1, D.rope, D.rope, ch.pos[t], inv_freq, RopeStyle::Norm, 1.0f, cs);
            rms_norm(kva, kva, L.kv_a_norm.data(), D.kvl, c.rms_eps);
            ch.caches[t]->store(layer, ch.pos[t], 0, kva, D.kvl + D.rope);
        }
    });

    // ---- attention ----
    // Sequences with a long enough chunk run the naive form, one sequence at a time: their K_nope and V are
    // decompressed into one shared buffer, then each (block of queries, head) is scored against
    //   [k_nope_j | k^R_j] as two accumulated products, softmaxed causally, and weighted over v_j.
    // Every other token runs the absorbed form: its queries q~_h (all heads, or a block of them) are scored
    // against the cache rows [c^KV_j | k^R_j] directly, weighted over c^KV_j, and projected by W^UV_h.
    // Within a naive sequence, each work item is a block of queries of one head.
    auto run_naive = [&](int64_t t0, int64_t nt, int64_t n_kv, const float* rows, const NaiveLayout& nl) {
        plan_attention(ch.caches + t0, ch.pos + t0, nt, D.H, 0, s.score_block, s.attn_items);
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
    // Absorbed: q~_h = W^UK_h^T q_nope for every (token, head) first, next to its q_rope ([q~_h | q_rope_h]
    // is scored against a whole cache row [c^KV_j | k^R_j] in one product). Then each token's cached
    // positions are taken in fixed blocks of kMlaKeyBlock: an item scores a block of heads against one block
    // and keeps the unnormalised partial per head (m = max score, l = sum of exp(s - m), z = sum of exp(s -
    // m) c^KV_j); a second pass combines a token's blocks in order, z_h = sum_b e^(m_b - M) z_b / sum_b
    // e^(m_b - M) l_b, and projects o_h = W^UV_h z_h. So the threads split a long cache between them (each
    // row is read once, not once per block of heads), and since the blocks are fixed the result does not
    // depend on the thread count or on which other tokens share the batch. Tokens run in groups whose
    // partials fit s.mla_part.
    // The per-head products (W^UK_h^T, W^UV_h) of all tokens and heads run as one matmul_batch pass: the
    // heads of each matrix lie one after another, so each thread streams its share as one run.
    std::vector<MatmulJob>& jobs = s.mm_jobs;
    auto run_absorbed = [&](const int32_t* toks, int64_t n_toks) {
        const int64_t items_qt = n_toks * D.H;
        jobs.clear();
        for (int64_t i = 0; i < items_qt; i++) {
            const int64_t t = toks[i / D.H], h = i % D.H;
            jobs.push_back({L.wk_absorb.head(h), s.q.data() + t * qd + h * D.qk, D.nope, 1,
                            s.qt.data() + (t * D.H + h) * D.row, D.kvl});
        }
        matmul_batch(jobs.data(), items_qt);
        parallel_for(
            items_qt,
            [&](int64_t i0, int64_t i1) {
                for (int64_t i = i0; i < i1; i++) {
                    const int64_t t = toks[i / D.H], h = i % D.H;
                    float* qt = s.qt.data() + (t * D.H + h) * D.row;
                    std::copy_n(s.q.data() + t * qd + h * D.qk + D.nope, D.rope, qt + D.kvl);
                    if (ch.caches[t]->type() == CacheType::BF16)
                        f32_to_bf16_row(qt, s.qt16.data() + (t * D.H + h) * D.row, D.row);
                }
            },
            64);
        const int64_t part_head = D.kvl + 2;  // [z | m | l]
        const int64_t cap = static_cast<int64_t>(s.mla_part.size());
        for (int64_t g0 = 0; g0 < n_toks;) {
            // ---- plan a group of tokens ----
            s.mla_items.clear();
            int64_t used = 0, g1 = g0;
            for (; g1 < n_toks; g1++) {
                const int64_t t = toks[g1], kv = ch.pos[t] + 1;
                const int64_t blocks = (kv + kMlaKeyBlock - 1) / kMlaKeyBlock;
                if (g1 > g0 && used + blocks * D.H * part_head > cap) break;
                // The threads take items in turn. Whole blocks (all heads) come in a multiple of the thread
                // count; the blocks left over (all of them when there are fewer blocks than threads) are
                // split by heads into one item per thread, so that no thread computes a whole block more
                // than another.
                const int64_t whole = blocks - blocks % s.n_threads;
                const int64_t max_nh = std::max<int64_t>(1, s.score_block / std::min(kv, kMlaKeyBlock));
                s.mla_first[static_cast<size_t>(g1 - g0)] = static_cast<int32_t>(s.mla_items.size());
                for (int64_t b = 0, k0 = 0; k0 < kv; b++, k0 += kMlaKeyBlock) {
                    const int64_t nh =
                        std::min(max_nh, b < whole ? D.H : (D.H + s.n_threads - 1) / s.n_threads);
                    for (int64_t h = 0; h < D.H; h += nh) {
                        const int64_t hn = std::min(nh, D.H - h);
                        s.mla_items.push_back({static_cast<int32_t>(t), static_cast<int32_t>(h),
                                               static_cast<int32_t>(hn), static_cast<int32_t>(k0),
                                               static_cast<int32_t>(std::min(kv, k0 + kMlaKeyBlock)), used});
                        used += hn * part_head;
                    }
                }
            }
            R1_ASSERT(used <= cap, "MLA partials need %lld floats, scratch holds %lld",
                      static_cast<long long>(used), static_cast<long long>(cap));
            s.mla_first[static_cast<size_t>(g1 - g0)] = static_cast<int32_t>(s.mla_items.size());

            // ---- partials ----
            parallel_region([&](int ith, int nth) {
                float* sc = s.scores.data() + static_cast<size_t>(ith) * static_cast<size_t>(s.score_block);
                const int64_t n_items = static_cast<int64_t>(s.mla_items.size());
                for (int64_t it = ith; it < n_items; it += nth) {
                    const MlaPartItem& a = s.mla_items[static_cast<size_t>(it)];
                    const int64_t t = a.t, nk = a.k1 - a.k0;
                    const KvCache& cache = *ch.caches[t];
                    const bool bf16 = cache.type() == CacheType::BF16;
                    const int64_t qoff = (t * D.H + a.h0) * D.row;  // [nh, kv_lora + rope] queries
                    if (bf16)
                        attn_scores_bf16(s.qt16.data() + qoff, D.row, a.nh, cache.bf16_row(layer, a.k0),
                                         D.row, nk, D.row, scale, sc, nk, false);
                    else
                        attn_scores(s.qt.data() + qoff, D.row, a.nh, cache.f32_row(layer, a.k0), D.row, nk,
                                    D.row, scale, sc, nk, false);
                    float* part = s.mla_part.data() + a.part;  // [nh, kv_lora + 2]
                    for (int64_t u = 0; u < a.nh; u++) {
                        float* pu = part + u * part_head;
                        pu[D.kvl + 1] = exp_shifted_inplace(sc + u * nk, nk, &pu[D.kvl]);
                    }
                    if (bf16)
                        attn_weighted_sum_bf16(sc, nk, a.nh, nk, cache.bf16_row(layer, a.k0), D.row, D.kvl,
                                               part, part_head);
                    else
                        attn_weighted_sum(sc, nk, a.nh, nk, cache.f32_row(layer, a.k0), D.row, D.kvl, part,
                                          part_head);
                }
            });

            // ---- combine each (token, head) and project by W^UV_h ----
            parallel_for((g1 - g0) * D.H, [&](int64_t i0, int64_t i1) {
                for (int64_t i = i0; i < i1; i++) {
                    const int64_t g = i / D.H, h = i % D.H, t = toks[g0 + g];
                    const MlaPartItem* first = s.mla_items.data() + s.mla_first[static_cast<size_t>(g)];
                    const MlaPartItem* last = s.mla_items.data() + s.mla_first[static_cast<size_t>(g + 1)];
                    auto head_part = [&](const MlaPartItem& a) -> const float* {
                        return h >= a.h0 && h < a.h0 + a.nh
                                   ? s.mla_part.data() + a.part + (h - a.h0) * part_head
                                   : nullptr;
                    };
                    float M = -std::numeric_limits<float>::infinity(), Lsum = 0;
                    for (const MlaPartItem* a = first; a < last; a++)
                        if (const float* p = head_part(*a)) M = std::max(M, p[D.kvl]);
                    for (const MlaPartItem* a = first; a < last; a++)
                        if (const float* p = head_part(*a)) Lsum += std::exp(p[D.kvl] - M) * p[D.kvl + 1];
                    float* z = s.z.data() + (t * D.H + h) * D.kvl;
                    std::fill(z, z + D.kvl, 0.0f);
                    for (const MlaPartItem* a = first; a < last; a++)
                        if (const float* p = head_part(*a))
                            axpy_f32(z, std::exp(p[D.kvl] - M) / Lsum, p, D.kvl);
                }
            });
            const int64_t n_heads = (g1 - g0) * D.H;
            jobs.clear();
            for (int64_t i = 0; i < n_heads; i++) {
                const int64_t t = toks[g0 + i / D.H], h = i % D.H;
                jobs.push_back({L.wv.head(h), s.z.data() + (t * D.H + h) * D.kvl, D.kvl, 1,
                                s.att.data() + t * vd + h * D.v, D.v});
            }
            matmul_batch(jobs.data(), n_heads);
            g0 = g1;
        }
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
            const float* rows = f32_rows(*ch.caches[t0], layer, n_kv, s);
            run_naive(t0, n_new, n_kv, rows, decompress(L, D, rows, n_kv, s));
        } else {
            for (int64_t t = t0; t < t1; t++) absorbed[n_absorbed++] = static_cast<int32_t>(t);
        }
        t0 = t1;
    }
    if (n_absorbed > 0) run_absorbed(absorbed, n_absorbed);
    matmul(L.wo, s.att.data(), vd, n, out, d);
}

}  // namespace r1
