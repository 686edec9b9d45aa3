// Token sampler: logits [n_vocab] (+ the recent token history) -> one token id and its log-probability.
//
// A fixed pipeline, in this order:
//   1. penalties    repeat (llama.cpp: a logit > 0 is divided by the penalty, a logit <= 0 multiplied), then
//                   frequency/presence (OpenAI: logit -= count * frequency + (count > 0) * presence), counted
//                   over the last repeat_last_n tokens of the history (llama.cpp's window for all three)
//   2. top-k        keep the k largest logits (ties: lower id first, so exactly k survive)
//   3. temperature  z = logit / T; T = 0 means greedy and ends the pipeline here with the argmax of step 1
//   4. softmax      p = exp(z - max z) / sum
//   5. top-p        keep the smallest most-probable prefix whose mass reaches top_p (HF/llama.cpp rule: the
//   token
//                   that crosses the threshold is kept)
//   6. min-p        keep tokens with p >= min_p * max p
//   7. draw         one token from the renormalised survivors, with the sampler's own Rng
// Why this order: it is Hugging Face transformers' and vLLM's (temperature before top-p/min-p), the semantics
// under which DeepSeek's recommended T 0.6 / top-p 0.95 for R1 were set. llama.cpp's default chain differs in
// one place: it applies temperature last, so its top-p/min-p see the T = 1 distribution. top-k is unaffected
// by the order (temperature is monotonic). min-p after top-p gives the intersection of both sets.
//
// Cost: no allocation per call (buffers are sized for n_vocab at construction) and nothing is ever fully
// sorted: weights come from a vectorised exp; top-k is a heap scan (k <= 256) or nth_element; top-p
// histograms the weights by z = (logit - max) / T in 1/16-nat bins, keeps whole bins down to the one where
// the mass reaches top_p and sorts only that bin (tokens too light to matter skip the histogram); the draw
// walks the survivors, or per-256-id block sums when nothing was cut.
//
// Non-finite logits: NaN and -inf are never sampled; +inf is treated as the largest finite float (the tokens
// at +inf share all the mass). All logits NaN / -inf is an r1::Error (the model produced garbage).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/rng.h"

namespace r1 {

struct SamplingParams {           // defaults as DeepSeek recommends for R1: temperature 0.6, top-p 0.95
    float temperature = 0.6f;     // 0 => greedy (argmax)
    int top_k = 0;                // 0 => off
    float top_p = 0.95f;          // 1 => off
    float min_p = 0.0f;           // 0 => off
    float repeat_penalty = 1.0f;  // 1 => off
    int repeat_last_n = 64;  // penalty window over the history; 0 => penalties off, -1 => the whole history
    float presence_penalty = 0.0f, frequency_penalty = 0.0f;  // OpenAI semantics, range [-2, 2] there
    uint64_t seed = kRandomSeed;  // kRandomSeed: a seed from the clock; any other value => reproducible draws

    static constexpr uint64_t kRandomSeed = 0xFFFFFFFFFFFFFFFFull;
};

// Throws r1::Error naming the bad field and its valid range (temperature < 0 or NaN, top_k < 0, top_p not in
// (0, 1], min_p not in [0, 1], repeat_penalty <= 0, repeat_last_n < -1, non-finite penalties).
void validate(const SamplingParams& params);

struct Sampled {
    int32_t token;
    // log-probability of token under the final distribution the draw used (after penalties, top-k,
    // temperature, top-p, min-p, renormalised). Greedy (T = 0) has no such distribution (it is a point mass,
    // log 1 = 0); it reports log_softmax(penalised logits)[token] at T = 1 instead, which is what "logprobs"
    // usually means.
    float logprob;
};

class Sampler {
  public:
    // Throws r1::Error on invalid params (see validate()) or n_vocab <= 0.
    Sampler(const SamplingParams& params, int32_t n_vocab);

    // logits: [n_vocab]. history: token ids so far (prompt and/or output, the caller decides); only the last
    // repeat_last_n are read, and only when a penalty is on (an id outside [0, n_vocab) there is an
    // r1::Error).
    Sampled sample(std::span<const float> logits, std::span<const int32_t> history = {});

    void reseed(uint64_t seed);              // kRandomSeed picks one from the clock
    uint64_t seed() const { return seed_; }  // the seed in use (the clock's pick when kRandomSeed was asked)
    const SamplingParams& params() const { return params_; }
    int32_t n_vocab() const { return n_vocab_; }

  private:
    static constexpr size_t kBlock = 256;  // weights are summed per block of ids; a dense draw skips blocks
    static constexpr size_t kHeapTopK = 256;  // top-k up to this uses a heap scan, above it nth_element

    void apply_penalties(std::span<const int32_t> history);  // on logits_
    bool better(int32_t a, int32_t b) const;                 // logit descending, then id ascending
    size_t select_top_k(size_t k);                           // -> ids_[0, k)
    double weigh_all(float max_logit, float inv_t);  // w_ and block_sum_ for every id; returns the sum
    // top-p over the candidate list ids_[0, n), ignoring ids with w < w_floor: reorders the list so that the
    // survivors come first; returns their count.
    size_t top_p_filter(size_t n, double total, float w_floor, float max_logit, float inv_t);

    int32_t n_vocab_;
    SamplingParams params_;
    uint64_t seed_ = 0;
    Rng rng_;
    std::vector<float> logits_;          // [n_vocab] sanitised + penalised copy of the input
    std::vector<float> w_;               // [n_vocab] exp((logit - max) / T) of the candidates
    std::vector<int32_t> ids_;           // [n_vocab] candidate / survivor ids
    std::vector<int32_t> boundary_ids_;  // [n_vocab] top-p: the ids in the bin where the cut falls
    std::vector<uint16_t> keys_;         // [n_vocab] top-p: histogram bin per position of ids_
    std::vector<int32_t> counts_;        // [n_vocab] token counts in the penalty window (zero between calls)
    std::vector<double> bin_mass_;       // [4096] top-p histogram of w over z = (logit - max) / T
    std::vector<double> block_sum_;      // [n_vocab / kBlock rounded up] sums of w_ per block of ids
};

// Log-softmax helpers for computing log-probabilities of given tokens (scoring, logprobs in the API, RL). NaN
// logits count as -inf. temperature > 0 divides the logits first.
// log(sum_i exp(logits[i] / temperature)), in double precision. -inf if every logit is -inf / NaN.
double log_sum_exp(std::span<const float> logits, float temperature = 1.0f);
// log_softmax(logits / temperature)[token].
float token_logprob(std::span<const float> logits, int32_t token, float temperature = 1.0f);
// out[i] = log_softmax(logits / temperature)[i]; out.size() == logits.size().
void log_softmax(std::span<const float> logits, std::span<float> out, float temperature = 1.0f);

struct TokenLogprob {
    int32_t token;
    float logprob;
};
// The n most probable tokens under log_softmax(logits) (OpenAI top_logprobs), most probable first, ties by
// id.
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n);

}  // namespace r1
