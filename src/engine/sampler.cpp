// Sampler pipeline (penalties -> top-k -> temperature -> softmax -> top-p -> min-p -> draw) and log-softmax
// helpers; see sampler.h for the order and its reasons.
#include "engine/sampler.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "base/error.h"
#include "kernels/ops.h"

namespace r1 {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// NaN -> -inf (never sampled); +inf -> the largest finite float (keeps softmax arithmetic finite).
inline float sanitize(float x) {
    if (std::isnan(x)) return kNegInf;
    if (x == std::numeric_limits<float>::infinity()) return std::numeric_limits<float>::max();
    return x;
}

// w[i] = e^((l[i] - max) * inv_t) for i < n. One copy per ISA (GCC target_clones, picked once by the dynamic
// loader), as in kernels/ops.cpp: the 16-wide AVX-512 copy is ~4x the baseline SSE one on a 150k vocabulary.
__attribute__((target_clones("avx512f", "avx2,fma", "default"))) void exp_weights(const float* __restrict l,
                                                                                  float* __restrict w,
                                                                                  size_t n, float max_logit,
                                                                                  float inv_t) {
    for (size_t i = 0; i < n; ++i) w[i] = exp_nonpos((l[i] - max_logit) * inv_t);
}

// Top-p histogram over z = (logit - max) / T <= 0: bin = floor(-z * 16), i.e. 1/16 nat wide, monotone in z.
// Everything below z = -256 (weight 0 in float) shares the last bin.
constexpr int kBins = 4096;
inline int bin_of(float z) {
    const float f = -z * 16.0f;
    return f < static_cast<float>(kBins - 1) ? static_cast<int>(f) : kBins - 1;
}

uint64_t clock_seed() {
    auto a = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    auto b = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    uint64_t s = derive(a, b);
    return s == SamplingParams::kRandomSeed ? 0 : s;
}

}  // namespace

void validate(const SamplingParams& p) {
    if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature)) {
        fail("sampling: temperature must be a finite number >= 0 (0 = greedy), got %g", p.temperature);
    }
    if (p.top_k < 0) fail("sampling: top_k must be >= 0 (0 = off), got %d", p.top_k);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
        fail("sampling: top_p must be in (0, 1] (1 = off), got %g", p.top_p);
    }
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) {
        fail("sampling: min_p must be in [0, 1] (0 = off), got %g", p.min_p);
    }
    if (!(p.repeat_penalty > 0.0f) || !std::isfinite(p.repeat_penalty)) {
        fail("sampling: repeat_penalty must be a finite number > 0 (1 = off), got %g", p.repeat_penalty);
    }
    if (p.repeat_last_n < -1) {
        fail("sampling: repeat_last_n must be >= -1 (-1 = whole history, 0 = off), got %d", p.repeat_last_n);
    }
    if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty)) {
        fail("sampling: presence_penalty and frequency_penalty must be finite, got %g and %g",
             p.presence_penalty, p.frequency_penalty);
    }
}

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab) : n_vocab_(n_vocab), params_(params) {
    if (n_vocab <= 0) fail("sampler: n_vocab must be > 0, got %d", n_vocab);
    validate(params_);
    const size_t v = static_cast<size_t>(n_vocab);
    logits_.resize(v);
    w_.resize(v);
    ids_.resize(v);
    boundary_ids_.resize(v);
    keys_.resize(v);
    counts_.assign(v, 0);
    bin_mass_.resize(kBins);
    block_sum_.resize((v + kBlock - 1) / kBlock);
    reseed(params_.seed);
}

void Sampler::reseed(uint64_t seed) {
    seed_ = seed == SamplingParams::kRandomSeed ? clock_seed() : seed;
    rng_.reseed(seed_);
}

void Sampler::apply_penalties(std::span<const int32_t> history) {
    const SamplingParams& p = params_;
    bool any = p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
    if (!any || p.repeat_last_n == 0 || history.empty()) return;
    if (p.repeat_last_n > 0 && history.size() > static_cast<size_t>(p.repeat_last_n)) {
        history = history.last(static_cast<size_t>(p.repeat_last_n));
    }
    for (int32_t t : history) {
        if (t < 0 || t >= n_vocab_) {
            fail("sampler: token %d in the history is outside the vocabulary [0, %d)", t, n_vocab_);
        }
    }
    for (int32_t t : history) ++counts_[t];
    // Second pass: each distinct token once (its count is cleared as it is used, so counts_ ends all zero).
    for (int32_t t : history) {
        int32_t c = counts_[t];
        if (c == 0) continue;
        counts_[t] = 0;
        float& l = logits_[t];
        l = l > 0.0f ? l / p.repeat_penalty : l * p.repeat_penalty;
        l -= static_cast<float>(c) * p.frequency_penalty + p.presence_penalty;
    }
}

bool Sampler::better(int32_t a, int32_t b) const {
    return logits_[a] > logits_[b] || (logits_[a] == logits_[b] && a < b);
}

size_t Sampler::select_top_k(size_t k) {
    auto cmp = [this](int32_t a, int32_t b) { return better(a, b); };
    const int32_t v = n_vocab_;
    if (k <= kHeapTopK) {
        // A heap of the k best so far whose front is the worst of them: most ids lose one comparison with it.
        for (size_t i = 0; i < k; ++i) ids_[i] = static_cast<int32_t>(i);
        auto first = ids_.begin(), last = ids_.begin() + static_cast<ptrdiff_t>(k);
        std::make_heap(first, last, cmp);
        for (int32_t i = static_cast<int32_t>(k); i < v; ++i) {
            if (!better(i, ids_[0])) continue;
            std::pop_heap(first, last, cmp);
            *(last - 1) = i;
            std::push_heap(first, last, cmp);
        }
    } else {
        std::iota(ids_.begin(), ids_.end(), 0);
        std::nth_element(ids_.begin(), ids_.begin() + static_cast<ptrdiff_t>(k - 1), ids_.end(), cmp);
    }
    return k;
}

double Sampler::weigh_all(float max_logit, float inv_t) {
    const size_t v = static_cast<size_t>(n_vocab_);
    exp_weights(logits_.data(), w_.data(), v, max_logit, inv_t);
    const float* w = w_.data();
    double total = 0.0;
    for (size_t b = 0; b < block_sum_.size(); ++b) {
        size_t begin = b * kBlock, end = std::min(v, begin + kBlock);
        double acc[8] = {};
        size_t i = begin;
        for (; i + 8 <= end; i += 8) {
            for (size_t j = 0; j < 8; ++j) acc[j] += w[i + j];
        }
        for (; i < end; ++i) acc[0] += w[i];
        block_sum_[b] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        total += block_sum_[b];
    }
    return total;
}

size_t Sampler::top_p_filter(size_t n, double total, float w_floor, float max_logit, float inv_t) {
    const double target = static_cast<double>(params_.top_p) * total;
    // Pass 1: each candidate's bin (kBins = too light to matter) and the mass per bin.
    std::fill(bin_mass_.begin(), bin_mass_.end(), 0.0);
    for (size_t j = 0; j < n; ++j) {
        const int32_t id = ids_[j];
        const float w = w_[id];
        const int key = (w >= w_floor && w > 0.0f) ? bin_of((logits_[id] - max_logit) * inv_t) : kBins;
        keys_[j] = static_cast<uint16_t>(key);
        if (key < kBins) bin_mass_[key] += w;
    }
    // The bin where the running mass (most probable first) reaches the target.
    double cum = 0.0;
    int boundary = kBins;
    for (int b = 0; b < kBins; ++b) {
        if (cum + bin_mass_[b] >= target) {
            boundary = b;
            break;
        }
        cum += bin_mass_[b];
    }
    // Pass 2 (branch-free compaction): bins above the boundary are kept whole, in place at the front; the
    // boundary bin goes to boundary_ids_, is sorted, and is kept up to the token whose mass reaches the
    // target.
    size_t kept = 0, m = 0;
    for (size_t j = 0; j < n; ++j) {
        const int32_t id = ids_[j];
        ids_[kept] = id;
        kept += keys_[j] < boundary;
        boundary_ids_[m] = id;
        m += keys_[j] == boundary;
    }
    std::sort(boundary_ids_.begin(), boundary_ids_.begin() + static_cast<ptrdiff_t>(m),
              [this](int32_t a, int32_t b) { return better(a, b); });
    for (size_t j = 0; j < m; ++j) {
        ids_[kept++] = boundary_ids_[j];
        cum += w_[boundary_ids_[j]];
        if (cum >= target) break;
    }
    return std::max<size_t>(kept, 1);
}

Sampled Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    R1_ASSERT(logits.size() == static_cast<size_t>(n_vocab_), "sampler built for %d logits, got %zu",
              n_vocab_, logits.size());
    const SamplingParams& p = params_;
    const size_t v = static_cast<size_t>(n_vocab_);
    for (size_t i = 0; i < v; ++i) logits_[i] = sanitize(logits[i]);
    apply_penalties(history);

    // Greedy: argmax of the penalised logits (lowest id on ties); logprob under their T = 1 softmax.
    if (p.temperature <= 0.0f) {
        int32_t best = 0;
        for (int32_t i = 1; i < n_vocab_; ++i) {
            if (logits_[i] > logits_[best]) best = i;
        }
        if (logits_[best] == kNegInf) {
            fail("sampler: every logit is NaN or -inf; the model output is invalid");
        }
        return {best, static_cast<float>(-std::log(weigh_all(logits_[best], 1.0f)))};
    }

    // 2. top-k: the candidates become the list ids_[0, n); otherwise every id is one ("dense", no list).
    bool dense = true;
    size_t n = v;
    if (p.top_k > 0 && static_cast<size_t>(p.top_k) < v) {
        n = select_top_k(static_cast<size_t>(p.top_k));
        dense = false;
    }

    // 3-4. Temperature and softmax weights w = exp((logit - max) / T), so the best token has w = 1 exactly.
    float max_logit = kNegInf;
    if (dense) {
        float m[8] = {kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf};
        size_t i = 0;
        for (; i + 8 <= v; i += 8) {
            for (size_t j = 0; j < 8; ++j) m[j] = std::max(m[j], logits_[i + j]);
        }
        for (; i < v; ++i) m[0] = std::max(m[0], logits_[i]);
        max_logit = *std::max_element(m, m + 8);
    } else {
        for (size_t j = 0; j < n; ++j) max_logit = std::max(max_logit, logits_[ids_[j]]);
    }
    if (max_logit == kNegInf) fail("sampler: every logit is NaN or -inf; the model output is invalid");
    const float inv_t = 1.0f / p.temperature;
    double total = 0.0;
    if (dense) {
        total = weigh_all(max_logit, inv_t);
    } else {
        for (size_t j = 0; j < n; ++j) {
            int32_t id = ids_[j];
            w_[id] = exp_nonpos((logits_[id] - max_logit) * inv_t);
            total += w_[id];
        }
    }

    // 5. top-p. Tokens lighter than w_floor cannot reach the cut: all of them together (at most n_vocab)
    // weigh at most half of the (1 - top_p) * total that the cut leaves out. They are dropped up front (the
    // dense case lists only the others), so the histogram and the partitions only see tokens that can matter.
    if (p.top_p < 1.0f) {
        const float w_floor = static_cast<float>(0.5 * (1.0 - p.top_p) * total / static_cast<double>(v));
        if (dense) {
            n = 0;
            for (size_t i = 0; i < v; ++i) {  // branch-free compaction
                ids_[n] = static_cast<int32_t>(i);
                n += w_[i] >= w_floor && w_[i] > 0.0f;
            }
            dense = false;
        }
        n = top_p_filter(n, total, w_floor, max_logit, inv_t);
    }

    // 6. min-p: w >= min_p * w_max = min_p. The best token always survives.
    if (p.min_p > 0.0f) {
        if (dense) {
            n = 0;
            for (size_t i = 0; i < v; ++i) {
                ids_[n] = static_cast<int32_t>(i);
                n += w_[i] >= p.min_p;
            }
            dense = false;
        } else {
            auto end = std::partition(ids_.begin(), ids_.begin() + static_cast<ptrdiff_t>(n),
                                      [&](int32_t id) { return w_[id] >= p.min_p; });
            n = static_cast<size_t>(end - ids_.begin());
        }
    }

    // 7. Draw from the renormalised survivors.
    int32_t pick = -1;
    double kept_total = 0.0;
    if (dense) {
        kept_total = total;
        const double u = rng_.uniform_double() * kept_total;
        double acc = 0.0;
        for (size_t b = 0; b < block_sum_.size() && pick < 0; ++b) {
            if (u >= acc + block_sum_[b] && b + 1 < block_sum_.size()) {
                acc += block_sum_[b];
                continue;
            }
            size_t begin = b * kBlock, end = std::min(v, begin + kBlock);
            for (size_t i = begin; i < end; ++i) {
                // pick trails the last token with mass, which is the answer if rounding left u past the end.
                acc += w_[i];
                if (w_[i] > 0.0f) pick = static_cast<int32_t>(i);
                if (u < acc && pick >= 0) break;
            }
        }
        if (pick < 0) {  // only possible when rounding pushed u past a trailing all-zero block
            for (size_t i = v; i-- > 0 && pick < 0;) {
                if (w_[i] > 0.0f) pick = static_cast<int32_t>(i);
            }
        }
    } else {
        for (size_t j = 0; j < n; ++j) kept_total += w_[ids_[j]];
        const double u = rng_.uniform_double() * kept_total;
        double acc = 0.0;
        for (size_t j = 0; j < n; ++j) {
            int32_t id = ids_[j];
            acc += w_[id];
            if (w_[id] > 0.0f) pick = id;
            if (u < acc && pick >= 0) break;
        }
    }
    R1_ASSERT(pick >= 0, "sampler: no token with positive weight (max weight is 1 by construction)");
    const float z = (logits_[pick] - max_logit) * inv_t;
    return {pick, static_cast<float>(static_cast<double>(z) - std::log(kept_total))};
}

namespace {

// log_softmax(x / T)_i = (x_i - max) / T - log(sum_j exp((x_j - max) / T)); kept as (max, log sum) so that
// huge logits keep their precision (x / T - lse would cancel catastrophically near 3e38).
struct LogNormaliser {
    double max;      // largest sanitised logit (-inf if none is finite)
    double log_sum;  // log(sum exp((x - max) / T))
    double inv_t;
    float logprob(float raw) const {
        float x = sanitize(raw);
        if (x == kNegInf) return kNegInf;
        return static_cast<float>((static_cast<double>(x) - max) * inv_t - log_sum);
    }
};

LogNormaliser normaliser(std::span<const float> logits, float temperature) {
    R1_ASSERT(temperature > 0.0f, "log-softmax: temperature must be > 0, got %g", temperature);
    float mx = kNegInf;
    for (float x : logits) mx = std::max(mx, sanitize(x));
    LogNormaliser n{mx, 0.0, 1.0 / temperature};
    if (mx == kNegInf) return n;
    double sum = 0.0;
    for (float x : logits) {
        float s = sanitize(x);
        if (s != kNegInf) sum += std::exp((static_cast<double>(s) - mx) * n.inv_t);
    }
    n.log_sum = std::log(sum);
    return n;
}

}  // namespace

double log_sum_exp(std::span<const float> logits, float temperature) {
    LogNormaliser n = normaliser(logits, temperature);
    if (n.max == -std::numeric_limits<double>::infinity()) return n.max;
    return n.max * n.inv_t + n.log_sum;
}

float token_logprob(std::span<const float> logits, int32_t token, float temperature) {
    R1_ASSERT(token >= 0 && static_cast<size_t>(token) < logits.size(), "token %d outside [0, %zu)", token,
              logits.size());
    return normaliser(logits, temperature).logprob(logits[token]);
}

void log_softmax(std::span<const float> logits, std::span<float> out, float temperature) {
    R1_ASSERT(out.size() == logits.size(), "log_softmax: %zu outputs for %zu logits", out.size(),
              logits.size());
    LogNormaliser n = normaliser(logits, temperature);
    for (size_t i = 0; i < logits.size(); ++i) out[i] = n.logprob(logits[i]);
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n) {
    size_t k = std::min(static_cast<size_t>(std::max(n, 0)), logits.size());
    std::vector<int32_t> ids(logits.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
    auto better = [&](int32_t a, int32_t b) {
        float xa = sanitize(logits[a]), xb = sanitize(logits[b]);
        return xa > xb || (xa == xb && a < b);
    };
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(), better);
    LogNormaliser norm = normaliser(logits, 1.0f);
    std::vector<TokenLogprob> out;
    out.reserve(k);
    for (size_t i = 0; i < k; ++i) out.push_back({ids[i], norm.logprob(logits[ids[i]])});
    return out;
}

}  // namespace r1
