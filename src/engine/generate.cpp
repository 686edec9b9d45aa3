#include "engine/generate.h"

#include <algorithm>

#include "base/error.h"
#include "base/timer.h"
#include "engine/stop.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::Eog:
            return "stop";
        case FinishReason::StopString:
            return "stop";
        case FinishReason::Length:
            return "length";
        case FinishReason::ContextFull:
            return "length";
        case FinishReason::Cancelled:
            return "cancelled";
    }
    return "?";
}

Session::Session(const Model& model, const Tokenizer& tok, int64_t n_ctx, CacheType cache_type,
                 int64_t n_batch)
    : model_(model),
      tok_(tok),
      cache_(model.config(), n_ctx, cache_type),
      scratch_(model.config(), std::min(n_batch, n_ctx), n_ctx),
      logits_(static_cast<size_t>(model.config().n_vocab)) {}

void Session::eval(std::span<const int32_t> tokens) {
    batch_.clear();
    const int64_t p0 = static_cast<int64_t>(cached_.size());
    for (size_t i = 0; i < tokens.size(); i++)
        batch_.add(tokens[i], p0 + static_cast<int64_t>(i), &cache_, i + 1 == tokens.size());
    model_.forward(batch_, scratch_, logits_.data());
    cached_.insert(cached_.end(), tokens.begin(), tokens.end());
}

GenerateResult Session::generate(std::span<const int32_t> prompt, const GenerateParams& params,
                                 const OnText& on_text, const OnToken& on_token) {
    GenerateResult res;
    const int64_t n_prompt = static_cast<int64_t>(prompt.size());
    if (n_prompt == 0) fail("empty prompt");
    if (n_prompt >= n_ctx())
        fail(
            "the prompt is %lld tokens but the context holds %lld; shorten the prompt or raise the context "
            "size "
            "(--ctx)",
            static_cast<long long>(n_prompt), static_cast<long long>(n_ctx()));

    // Reuse the longest common prefix of the cache; at least one token must run to produce logits.
    size_t keep = 0;
    while (keep < cached_.size() && keep < prompt.size() && cached_[keep] == prompt[keep]) keep++;
    if (keep == prompt.size()) keep--;
    cached_.resize(keep);
    res.timings.n_prompt = n_prompt;
    res.timings.n_prompt_cached = static_cast<int64_t>(keep);

    double t0 = now_s();
    eval(prompt.subspan(keep));
    res.timings.prompt_s = now_s() - t0;

    Sampler sampler(params.sampling, static_cast<int32_t>(model_.config().n_vocab));
    StopMatcher stops(params.stop);
    StreamDecoder decoder(tok_);
    std::vector<int32_t> history(prompt.begin(), prompt.end());
    t0 = now_s();
    bool cancelled = false;
    auto emit = [&](const std::string& text) {
        if (text.empty() || cancelled) return;
        res.text += text;
        if (on_text && !on_text(text)) cancelled = true;
    };
    res.finish = FinishReason::Length;
    for (int64_t i = 0; params.max_tokens < 0 || i < params.max_tokens; i++) {
        const Sampled s = sampler.sample(logits_, history);
        res.tokens.push_back(s.token);
        res.logprobs.push_back(s.logprob);
        history.push_back(s.token);
        res.timings.n_gen++;
        if (on_token && !on_token(s.token)) {
            res.finish = FinishReason::Cancelled;
            break;
        }
        if (params.stop_at_eog && tok_.is_eog(s.token)) {
            res.finish = FinishReason::Eog;
            break;
        }
        const StopMatcher::Result m = stops.push(decoder.push(s.token));
        emit(m.text);
        if (m.matched) {
            res.finish = FinishReason::StopString;
            break;
        }
        if (cancelled) {
            res.finish = FinishReason::Cancelled;
            break;
        }
        if (static_cast<int64_t>(cached_.size()) >= n_ctx()) {
            res.finish = FinishReason::ContextFull;
            break;
        }
        const int32_t next = s.token;
        eval(std::span<const int32_t>(&next, 1));
    }
    if (res.finish != FinishReason::StopString && res.finish != FinishReason::Cancelled) {
        emit(stops.flush(decoder.flush()));
    }
    res.timings.gen_s = now_s() - t0;
    return res;
}

}  // namespace r1
