// Scratch: the activations of one forward call, sized once for at most `max_tokens` tokens per chunk and
// caches of at most `max_ctx` positions, then reused: nothing is allocated per token. (T = max_tokens below.)
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/matmul.h"
#include "model/attention_plan.h"
#include "model/config.h"

namespace r1 {

// One token's routing decision in one MoE layer (filled only when Scratch::routing_trace is set; for tests).
struct RoutingRecord {
    int64_t layer = 0, token = 0;  // token: index in the Batch
    std::vector<int32_t> experts;  // selected, best first
    std::vector<float> weights;    // their gate weights (after renormalisation and route_scale)
    float margin = 0;              // k-th minus (k+1)-th selection score (how close the choice was)
    float group_margin = 0;        // the same for the groups kept (+inf when routing is not group-limited)
};

// A work item of MLA's absorbed attention: heads [h0, h0 + nh) of batch token t against cached positions
// [k0, k1); its partial result (per head: z, max, sum) starts at float `part` of Scratch::mla_part.
struct MlaPartItem {
    int32_t t, h0, nh, k0, k1;
    int64_t part;
};

// Cached positions per partial of MLA's absorbed attention (fixed, so that results do not depend on the
// thread count or on the other tokens of a batch).
constexpr int64_t kMlaKeyBlock = 512;

struct Scratch {
    Scratch(const ModelConfig& c, int64_t max_tokens, int64_t max_ctx);

    int64_t max_tokens, max_ctx;
    int n_threads;
    std::vector<float> x;         // [T, d]    residual stream
    std::vector<float> xb;        // [T, d]    normed input of a sub-block
    std::vector<float> q;         // [T, H*head_dim] (deepseek2: H*(nope+rope))
    std::vector<float> k, v;      // [T, Hkv*head_dim]        (dense)
    std::vector<float> att;       // [T, H*v]  attention output (before wo)
    std::vector<float> proj;      // [T, d]    output of wo / the FFN
    std::vector<float> gate, up;  // [T, ffn]  widest FFN of the model (dense, shared experts)
    std::vector<float> scores;    // [threads, score_block] attention scores of a block of queries
    int64_t score_block = 0;      // floats per thread: max(max_ctx, up to 1M for blocks of queries)
    std::vector<int64_t> lens;    // [threads, lens_stride] keys each query of a block sees
    int64_t lens_stride = 0;
    std::vector<AttnItem> attn_items;  // work items of the attention pass (capacity T*H)
    std::vector<float> rope_cs;        // [threads, rope_dim]
    std::vector<float> out_x;          // [T, d]    final normed rows that want logits
    std::vector<uint16_t> q16;         // [threads, T*head_dim] (dense) a work item's queries in bf16

    // deepseek2
    std::vector<float> qa;       // [T, q_lora]
    std::vector<float> kva;      // [T, kv_lora + rope]
    std::vector<float> qt;       // [T, H*(kv_lora + rope)] absorbed queries [q~_h | q_rope_h], as cache rows
    std::vector<uint16_t> qt16;  // [T, H*(kv_lora + rope)] the same in bf16 (tokens with a bf16 cache)
    std::vector<float> z;        // [T, H*kv_lora] weighted latents z
    std::vector<int32_t> attn_tokens;    // [2T] token lists of the attention passes
    std::vector<MlaPartItem> mla_items;  // absorbed attention: items of one group of tokens
    std::vector<int32_t> mla_first;      // [T + 1] each token's first item in mla_items
    std::vector<float> mla_part;         // partials of a group: at least one token at max_ctx, or 32 blocks
    int64_t naive_rows = 0;              // positions the naive-attention buffer holds
    std::vector<float> naive_kv;         // [naive_rows, H*(nope+v)] decompressed K_nope and V of one sequence
    std::vector<float> naive_rows_f32;   // [naive_rows, kv_lora + rope] its cache rows widened (bf16 caches)
    std::vector<float> router;           // [T, E]
    std::vector<int32_t> sel;            // [T, K]
    std::vector<float> sel_w;            // [T, K]
    std::vector<int32_t> ex_tokens;      // [T*K] tokens routed to one expert (batched path: to each in turn)
    std::vector<float> ex_w;             // [T*K]
    std::vector<float> ex_x, ex_y;       // [max(T, ex_rows), d]
    std::vector<float> ex_g, ex_u;       // [max(T, ex_rows), moe_inter]
    int64_t ex_rows = 0;                 // routed rows (tokens x experts) the batched decode path holds
    std::vector<int64_t> ex_first;       // [E + 1] batched path: each expert's first row
    std::vector<MatmulJob> mm_jobs;      // batched path: the products of one pass
    std::vector<float> route_tmp;        // [threads, 2*E]
    std::vector<RoutingRecord>* routing_trace = nullptr;  // tests: record every routing decision
};

}  // namespace r1
