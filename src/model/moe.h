// DeepSeekMoE: the router and the expert FFNs of one layer.
//
// Router (DeepSeek inference/model.py Gate.forward; spec §7.1):
//   s = softmax(x·W_gate^T) (V2) | sigmoid(...) (V3/R1);  sel = s + bias (the bias only picks experts)
//   groups (n_group > 1): group score = sum of the top-2 sel in the group when there is a bias (V3 noaux_tc),
//     max sel otherwise (V2 group_limited_greedy); keep the topk_group best groups, drop the rest
//   idx = top-K of sel;  w = s[idx] (unbiased);  w /= sum(w) if norm_topk_prob;  w *= route_scale
// Experts run batched: the tokens routed to each expert are gathered and multiplied together, one
// matrix-matrix product per expert; the shared experts run on every token.
#pragma once

#include <cstdint>

#include "model/config.h"
#include "model/deepseek_weights.h"
#include "model/scratch.h"

namespace r1 {

struct RouterParams {
    int64_t n_experts = 0, top_k = 0, n_groups = 1, top_groups = 1;
    ScoreFunc score = ScoreFunc::Softmax;
    bool norm_topk_prob = false;
    float route_scale = 1.0f;
    const float* bias = nullptr;  // [n_experts] or null
};

struct RouteMargins {
    float expert = 0;  // k-th minus (k+1)-th selection score among allowed experts (+inf if none left out)
    float group = 0;   // last kept minus best dropped group score (+inf without group limiting)
};

// logits [n_experts] -> ids [top_k] (best first) and weights [top_k]. tmp: scratch of 2*n_experts floats.
RouteMargins route_token(const RouterParams& p, const float* logits, float* tmp, int32_t* ids, float* weights);

RouterParams router_params(const ModelConfig& c, const DeepSeekLayerWeights& L);

// out[t] = sum_k w_tk Expert_{idx_tk}(xb[t]) + SharedExperts(xb[t])   for t < n;  out, xb [n, d]
void moe_forward(const ModelConfig& c, const DeepSeekLayerWeights& L, int64_t layer, const float* xb, int64_t n,
                 Scratch& s, float* out, int64_t batch_offset);

// out = w_down · (silu(w_gate·xb) ⊙ w_up·xb), rows [n, d]; gate/up buffers from the scratch.
void swiglu_ffn(const MatRef& w_gate, const MatRef& w_up, const MatRef& w_down, const float* xb, int64_t n,
                int64_t d, float* gate, float* up, float* out);

}  // namespace r1
