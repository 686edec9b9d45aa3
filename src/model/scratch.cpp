#include "model/scratch.h"

#include <algorithm>

#include "base/error.h"
#include "base/parallel.h"

namespace r1 {

Scratch::Scratch(const ModelConfig& c, int64_t max_tokens_, int64_t max_ctx_)
    : max_tokens(max_tokens_), max_ctx(max_ctx_), n_threads(num_threads()) {
    R1_ASSERT(max_tokens > 0 && max_ctx > 0);
    const auto sz = [](int64_t a, int64_t b) { return static_cast<size_t>(a * b); };
    const int64_t T = max_tokens, d = c.n_embd;
    const int64_t ffn = std::max(c.n_ff, c.moe_inter_dim * c.n_shared_experts);
    x.resize(sz(T, d));
    xb.resize(sz(T, d));
    q.resize(sz(T, c.q_dim()));
    proj.resize(sz(T, d));
    gate.resize(sz(T, ffn));
    up.resize(sz(T, ffn));
    // A block of queries is scored at once; cap a thread's block at ~1M scores (4 MiB), but always fit one
    // row.
    score_block = std::max<int64_t>(max_ctx, std::min<int64_t>(max_tokens * max_ctx, int64_t{1} << 20));
    scores.resize(sz(n_threads, score_block));
    lens_stride = std::max<int64_t>(max_tokens, c.n_head);
    lens.resize(sz(n_threads, lens_stride));
    attn_items.reserve(sz(T, c.n_head));
    rope_cs.resize(sz(n_threads, c.rope_dim));
    out_x.resize(sz(T, d));
    if (!c.is_deepseek()) {
        k.resize(sz(T, c.kv_dim()));
        v.resize(sz(T, c.kv_dim()));
        att.resize(sz(T, c.q_dim()));
        q16.resize(sz(n_threads, T * c.head_dim));
        return;
    }
    att.resize(sz(T, c.n_head * c.v_head_dim));
    qa.resize(sz(T, c.q_lora_rank));
    kva.resize(sz(T, c.kv_lora_rank + c.qk_rope_head_dim));
    qt.resize(sz(T, c.n_head * c.cache_row()));
    qt16.resize(sz(T, c.n_head * c.cache_row()));
    z.resize(sz(T, c.n_head * c.kv_lora_rank));
    attn_tokens.resize(sz(2, T));
    const int64_t part_blocks = std::max<int64_t>(32, (max_ctx + kMlaKeyBlock - 1) / kMlaKeyBlock);
    mla_part.resize(sz(part_blocks, c.n_head * (c.kv_lora_rank + 2)));
    mla_items.reserve(sz(part_blocks, c.n_head));
    mla_first.resize(sz(T + 1, 1));
    // The naive (decompressed) form of attention is used for long prompt chunks; its buffer is capped at
    // ~64 MiB, beyond which the absorbed form runs instead.
    const int64_t per_pos = c.n_head * (c.qk_nope_head_dim + c.v_head_dim);
    naive_rows = std::min<int64_t>(max_ctx, std::max<int64_t>(1, (int64_t{64} << 20) / (per_pos * 4)));
    naive_kv.resize(sz(naive_rows, per_pos));
    naive_rows_f32.resize(sz(naive_rows, c.cache_row()));
    const int64_t E = c.n_routed_experts, K = c.n_activated_experts;
    router.resize(sz(T, E));
    sel.resize(sz(T, K));
    sel_w.resize(sz(T, K));
    ex_tokens.resize(sz(T, K));
    ex_w.resize(sz(T, K));
    ex_rows = std::min(T, kBatchMaxTokens) * K;
    const int64_t ex = std::max(T, ex_rows);
    ex_x.resize(sz(ex, d));
    ex_y.resize(sz(ex, d));
    ex_g.resize(sz(ex, c.moe_inter_dim));
    ex_u.resize(sz(ex, c.moe_inter_dim));
    ex_first.resize(sz(E + 1, 1));
    mm_jobs.reserve(sz(2 * (E + 2), 1));
    route_tmp.resize(sz(n_threads, 2 * E));
}

}  // namespace r1
