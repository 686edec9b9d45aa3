#include "model/moe.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/parallel.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace r1 {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Index of the largest value not yet taken (ties: the lower index, as a stable top-k).
int64_t argmax_excluding(const float* v, int64_t n, const uint8_t* taken) {
    int64_t best = -1;
    for (int64_t i = 0; i < n; i++)
        if (!taken[i] && (best < 0 || v[i] > v[best])) best = i;
    return best;
}

}  // namespace

RouterParams router_params(const ModelConfig& c, const DeepSeekLayerWeights& L) {
    RouterParams p;
    p.n_experts = c.n_routed_experts;
    p.top_k = c.n_activated_experts;
    p.n_groups = c.n_expert_groups;
    p.top_groups = c.n_limited_groups;
    p.score = c.score_func;
    p.norm_topk_prob = c.norm_topk_prob;
    p.route_scale = c.route_scale;
    p.bias = L.exp_probs_b.empty() ? nullptr : L.exp_probs_b.data();
    return p;
}

RouteMargins route_token(const RouterParams& p, const float* logits, float* tmp, int32_t* ids,
                         float* weights) {
    const int64_t E = p.n_experts;
    float* s = tmp;        // scores
    float* sel = tmp + E;  // selection scores
    if (p.score == ScoreFunc::Softmax) {
        float mx = logits[0];
        for (int64_t e = 1; e < E; e++) mx = std::max(mx, logits[e]);
        double sum = 0;
        for (int64_t e = 0; e < E; e++) sum += (s[e] = std::exp(logits[e] - mx));
        for (int64_t e = 0; e < E; e++) s[e] = static_cast<float>(s[e] / sum);
    } else {
        for (int64_t e = 0; e < E; e++) s[e] = 1.0f / (1.0f + std::exp(-logits[e]));
    }
    for (int64_t e = 0; e < E; e++) sel[e] = s[e] + (p.bias ? p.bias[e] : 0.0f);

    RouteMargins m;
    m.group = std::numeric_limits<float>::infinity();
    if (p.n_groups > 1) {
        const int64_t G = p.n_groups, gs = E / G;
        float gscore[256];
        uint8_t kept[256] = {};
        for (int64_t g = 0; g < G; g++) {
            const float* v = sel + g * gs;
            if (p.bias) {  // V3 noaux_tc: sum of the two best
                float a = kNegInf, b = kNegInf;
                for (int64_t i = 0; i < gs; i++) {
                    if (v[i] > a)
                        b = a, a = v[i];
                    else if (v[i] > b)
                        b = v[i];
                }
                gscore[g] = gs >= 2 ? a + b : a;
            } else {  // V2 group_limited_greedy: the best one
                float a = kNegInf;
                for (int64_t i = 0; i < gs; i++) a = std::max(a, v[i]);
                gscore[g] = a;
            }
        }
        float last_kept = 0;
        for (int64_t k = 0; k < p.top_groups; k++) {
            const int64_t g = argmax_excluding(gscore, G, kept);
            kept[g] = 1;
            last_kept = gscore[g];
        }
        const int64_t best_dropped = argmax_excluding(gscore, G, kept);
        if (best_dropped >= 0) m.group = last_kept - gscore[best_dropped];
        for (int64_t g = 0; g < G; g++)
            if (!kept[g])
                for (int64_t i = 0; i < gs; i++) sel[g * gs + i] = kNegInf;
    }

    uint8_t taken[1024] = {};
    float last = 0;
    for (int64_t k = 0; k < p.top_k; k++) {
        const int64_t e = argmax_excluding(sel, E, taken);
        taken[e] = 1;
        ids[k] = static_cast<int32_t>(e);
        last = sel[e];
    }
    const int64_t next = argmax_excluding(sel, E, taken);
    m.expert = next >= 0 && sel[next] > kNegInf ? last - sel[next] : std::numeric_limits<float>::infinity();

    double sum = 0;
    for (int64_t k = 0; k < p.top_k; k++) sum += (weights[k] = s[ids[k]]);
    const float norm = p.norm_topk_prob ? static_cast<float>(1.0 / (sum + 1e-20)) : 1.0f;
    for (int64_t k = 0; k < p.top_k; k++) weights[k] *= norm * p.route_scale;
    return m;
}

void swiglu_ffn(const MatRef& w_gate, const MatRef& w_up, const MatRef& w_down, const float* xb, int64_t n,
                int64_t d, float* gate, float* up, float* out) {
    const int64_t ff = w_gate.rows;
    // gate and up in one pass, x quantised once
    const MatmulJob jobs[] = {{w_gate, xb, d, n, gate, ff}, {w_up, xb, d, n, up, ff}};
    matmul_batch(jobs, 2);
    parallel_for(n, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; t++) silu_mul(gate + t * ff, gate + t * ff, up + t * ff, ff);
    });
    matmul(w_down, gate, ff, n, out, d);
}

namespace {

// The tokens routed to expert e (and their gate weights), into s.ex_tokens / s.ex_w from index `at`; returns
// how many.
int64_t gather_expert(Scratch& s, int64_t n, int64_t K, int64_t e, int64_t at) {
    int64_t ne = 0;
    for (int64_t t = 0; t < n; t++)
        for (int64_t k = 0; k < K; k++)
            if (s.sel[static_cast<size_t>(t * K + k)] == e) {
                s.ex_tokens[static_cast<size_t>(at + ne)] = static_cast<int32_t>(t);
                s.ex_w[static_cast<size_t>(at + ne)] = s.sel_w[static_cast<size_t>(t * K + k)];
                ne++;
            }
    return ne;
}

// Shared and routed experts of n tokens (n * K <= s.ex_rows) with two matmul_batch calls. Expert e's rows
// of ex_x / ex_g / ex_u / ex_y start at its first gathered token.
void moe_batched(const DeepSeekLayerWeights& L, const float* xb, int64_t n, int64_t K, int64_t d, Scratch& s,
                 float* out) {
    const int64_t E = static_cast<int64_t>(L.gate_exps.size());
    const int64_t ff = L.gate_exps.empty() ? 0 : L.gate_exps[0].rows;
    const bool shared = L.gate_shexp.rows > 0;
    const int64_t sff = L.gate_shexp.rows;
    std::vector<MatmulJob>& jobs = s.mm_jobs;
    std::vector<int64_t>& first = s.ex_first;  // [E + 1] each expert's first gathered row
    jobs.clear();
    int64_t rows = 0;
    for (int64_t e = 0; e < E; e++) {
        first[static_cast<size_t>(e)] = rows;
        rows += gather_expert(s, n, K, e, rows);
    }
    first[static_cast<size_t>(E)] = rows;
    // ---- gate and up ----
    if (shared) {
        jobs.push_back({L.gate_shexp, xb, d, n, s.gate.data(), sff});
        jobs.push_back({L.up_shexp, xb, d, n, s.up.data(), sff});
    }
    for (int64_t e = 0; e < E; e++) {
        const int64_t r0 = first[static_cast<size_t>(e)], ne = first[static_cast<size_t>(e + 1)] - r0;
        if (ne == 0) continue;
        const float* x_in = xb;
        if (n > 1) {
            for (int64_t i = 0; i < ne; i++)
                std::copy_n(xb + s.ex_tokens[static_cast<size_t>(r0 + i)] * d, d,
                            s.ex_x.data() + (r0 + i) * d);
            x_in = s.ex_x.data() + r0 * d;
        }
        jobs.push_back({L.gate_exps[static_cast<size_t>(e)], x_in, d, ne, s.ex_g.data() + r0 * ff, ff});
        jobs.push_back({L.up_exps[static_cast<size_t>(e)], x_in, d, ne, s.ex_u.data() + r0 * ff, ff});
    }
    matmul_batch(jobs.data(), static_cast<int64_t>(jobs.size()));
    // ---- SwiGLU ----
    for (int64_t t = 0; shared && t < n; t++)
        silu_mul(s.gate.data() + t * sff, s.gate.data() + t * sff, s.up.data() + t * sff, sff);
    for (int64_t r = 0; r < rows; r++)
        silu_mul(s.ex_g.data() + r * ff, s.ex_g.data() + r * ff, s.ex_u.data() + r * ff, ff);
    // ---- down ----
    jobs.clear();
    if (shared) jobs.push_back({L.down_shexp, s.gate.data(), sff, n, out, d});
    for (int64_t e = 0; e < E; e++) {
        const int64_t r0 = first[static_cast<size_t>(e)], ne = first[static_cast<size_t>(e + 1)] - r0;
        if (ne > 0)
            jobs.push_back({L.down_exps[static_cast<size_t>(e)], s.ex_g.data() + r0 * ff, ff, ne,
                            s.ex_y.data() + r0 * d, d});
    }
    matmul_batch(jobs.data(), static_cast<int64_t>(jobs.size()));
    if (!shared) std::fill(out, out + n * d, 0.0f);
    for (int64_t r = 0; r < rows; r++)  // expert by expert, as the per-expert path adds them
        axpy_f32(out + s.ex_tokens[static_cast<size_t>(r)] * d, s.ex_w[static_cast<size_t>(r)],
                 s.ex_y.data() + r * d, d);
}

}  // namespace

void moe_forward(const ModelConfig& c, const DeepSeekLayerWeights& L, int64_t layer, const float* xb,
                 int64_t n, Scratch& s, float* out, int64_t batch_offset) {
    const int64_t d = c.n_embd, E = c.n_routed_experts, K = c.n_activated_experts;
    // 1. route every token
    matmul(L.gate_inp, xb, d, n, s.router.data(), E);
    const RouterParams rp = router_params(c, L);
    parallel_region([&](int ith, int nth) {
        float* tmp = s.route_tmp.data() + static_cast<size_t>(ith) * static_cast<size_t>(2 * E);
        for (int64_t t = ith; t < n; t += nth) {
            const RouteMargins m =
                route_token(rp, s.router.data() + t * E, tmp, s.sel.data() + t * K, s.sel_w.data() + t * K);
            if (s.routing_trace) {
                RoutingRecord r;
                r.layer = layer;
                r.token = batch_offset + t;
                r.experts.assign(s.sel.data() + t * K, s.sel.data() + (t + 1) * K);
                r.weights.assign(s.sel_w.data() + t * K, s.sel_w.data() + (t + 1) * K);
                r.margin = m.expert;
                r.group_margin = m.group;
#pragma omp critical(r1_routing_trace)
                s.routing_trace->push_back(std::move(r));
            }
        }
    });

    // Few rows in all (decode): every expert's products in two batched passes (kernels/matmul.h), gate and up
    // of all experts, then all the down projections; the same products and the same order of additions as the
    // per-expert path below, so both give the same bits.
    if (n * K <= s.ex_rows && n <= kBatchMaxTokens) {
        moe_batched(L, xb, n, K, d, s, out);
        return;
    }
    // 2. shared experts on every token (they write `out` first)
    if (L.gate_shexp.rows > 0) {
        swiglu_ffn(L.gate_shexp, L.up_shexp, L.down_shexp, xb, n, d, s.gate.data(), s.up.data(), out);
    } else {
        std::fill(out, out + n * d, 0.0f);
    }
    // 3. routed experts: gather the tokens of each expert, one batched FFN per expert, scatter-add
    for (int64_t e = 0; e < E; e++) {
        const int64_t ne = gather_expert(s, n, K, e, 0);
        if (ne == 0) continue;
        const float* x_in = xb;
        if (n > 1) {
            for (int64_t i = 0; i < ne; i++)
                std::copy_n(xb + s.ex_tokens[static_cast<size_t>(i)] * d, d, s.ex_x.data() + i * d);
            x_in = s.ex_x.data();
        }
        const size_t ei = static_cast<size_t>(e);
        swiglu_ffn(L.gate_exps[ei], L.up_exps[ei], L.down_exps[ei], x_in, ne, d, s.ex_g.data(), s.ex_u.data(),
                   s.ex_y.data());
        for (int64_t i = 0; i < ne; i++)
            axpy_f32(out + s.ex_tokens[static_cast<size_t>(i)] * d, s.ex_w[static_cast<size_t>(i)],
                     s.ex_y.data() + i * d, d);
    }
}

}  // namespace r1
