// Session: one conversation's sequence (its KV cache, the tokens in it, scratch) and generation on it:
// prefill the prompt (reusing the longest cached prefix from the previous turn), then sample token by token,
// streaming complete UTF-8 text and holding back anything that could still become a stop string.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "model/model.h"

namespace r1 {

class Tokenizer;

struct GenerateParams {
    int64_t max_tokens = -1;  // -1: until the context is full
    SamplingParams sampling;
    std::vector<std::string> stop;  // stop strings; the text stops before them
    bool stop_at_eog = true;        // stop at end-of-generation tokens (EOS, end of turn)
};

enum class FinishReason { Eog, StopString, Length, ContextFull, Cancelled };
const char* finish_reason_name(FinishReason r);

struct Timings {
    int64_t n_prompt = 0;         // prompt tokens
    int64_t n_prompt_cached = 0;  // of which reused from the cache
    int64_t n_gen = 0;            // sampled tokens
    double prompt_s = 0, gen_s = 0;
    double prompt_tps() const {
        return prompt_s > 0 ? static_cast<double>(n_prompt - n_prompt_cached) / prompt_s : 0;
    }
    double gen_tps() const { return gen_s > 0 ? static_cast<double>(n_gen) / gen_s : 0; }
};

struct GenerateResult {
    std::vector<int32_t> tokens;  // sampled tokens (the stopping EOG token included)
    std::vector<float> logprobs;  // one per sampled token
    std::string text;             // streamed text, without the stop string / EOG token text
    FinishReason finish = FinishReason::Eog;
    Timings timings;
};

// Streamed text pieces (complete UTF-8). Return false to stop (finish = Cancelled).
using OnText = std::function<bool(const std::string& piece)>;
// Each sampled token before its text is streamed; return false to stop. Optional.
using OnToken = std::function<bool(int32_t token)>;

class Session {
  public:
    Session(const Model& model, const Tokenizer& tok, int64_t n_ctx, CacheType cache_type = CacheType::BF16,
            int64_t n_batch = 512);

    // Throws r1::Error when the prompt does not fit in the context ("prompt is N tokens, context holds M").
    GenerateResult generate(std::span<const int32_t> prompt, const GenerateParams& params,
                            const OnText& on_text, const OnToken& on_token = {});
    // Forgets the cached tokens (the next prompt is run in full).
    void reset() { cached_.clear(); }
    int64_t n_ctx() const { return cache_.n_ctx(); }
    const std::vector<int32_t>& cached_tokens() const { return cached_; }

  private:
    // Runs tokens at positions cached_.size()... and leaves the last token's logits in logits_.
    void eval(std::span<const int32_t> tokens);

    const Model& model_;
    const Tokenizer& tok_;
    KvCache cache_;
    Scratch scratch_;
    std::vector<float> logits_;
    std::vector<int32_t> cached_;  // tokens whose K/V are in the cache, in position order
    Batch batch_;
};

}  // namespace r1
