// Continuous-batching scheduler (scheduler.h): slots, the step loop, and the per-token text pipeline
//   token -> StreamDecoder (whole UTF-8) -> StopMatcher (stop strings) -> ReasoningSplitter -> GenChannel
// with the ReasoningMonitor watching the thought and force-closing it by injecting "\n</think>\n\n".
#include "server/scheduler.h"

#include <algorithm>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "engine/reasoning.h"
#include "engine/stop.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

const char* gen_finish_name(GenFinish f) {
    switch (f) {
        case GenFinish::Stop:
            return "stop";
        case GenFinish::Length:
            return "length";
        case GenFinish::Cancelled:
            return "cancelled";
        case GenFinish::Error:
            return "error";
    }
    return "?";
}

// ---- GenChannel ----

void GenChannel::push(GenEvent e) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        events_.push_back(std::move(e));
    }
    cv_.notify_one();
}

bool GenChannel::pop_all(std::vector<GenEvent>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return !events_.empty(); })) return false;
    while (!events_.empty()) {
        GenEvent& e = events_.front();
        if (e.kind == GenEvent::Kind::Delta && !out.empty() && out.back().kind == GenEvent::Kind::Delta &&
            (out.back().content.empty() || e.reasoning.empty())) {
            // Merge only when the order of reasoning and content is kept (reasoning always comes first).
            out.back().reasoning += e.reasoning;
            out.back().content += e.content;
        } else {
            out.push_back(std::move(e));
        }
        events_.pop_front();
    }
    return true;
}

// ---- slots and jobs ----

struct Scheduler::Job {
    GenRequest req;
    std::shared_ptr<GenChannel> ch;
    int64_t t_queued_ns = 0;
};

struct Scheduler::Slot {
    Slot(int i, const ModelConfig& c, int64_t slot_ctx, CacheType type) : id(i), cache(c, slot_ctx, type) {}

    int id;
    KvCache cache;
    std::vector<int32_t> cached;  // tokens whose K/V are in `cache`, in position order

    std::shared_ptr<Job> job;  // null: the slot is free
    uint64_t order = 0;        // admission number: prefill runs oldest first
    int64_t n_ctx = 0;         // this request's context limit
    bool prefilling = false;
    std::vector<int32_t>
        feed;                 // tokens to run: the prompt remainder, or the last sampled (+ injected) tokens
    size_t fed = 0;           // prefill progress in feed
    int64_t step_tokens = 0;  // tokens of feed put into the current batch
    int logits_row = -1;      // row of the current batch's logits, or -1

    std::unique_ptr<Sampler> sampler;
    std::unique_ptr<StopMatcher> stops;
    std::unique_ptr<StreamDecoder> decoder;
    std::unique_ptr<ReasoningSplitter> splitter;  // null: no reasoning split (completions)
    std::unique_ptr<ReasoningMonitor> monitor;
    std::vector<int32_t> history;  // prompt + output, for the repetition penalties
    GenStats stats;
};

Scheduler::Scheduler(const Model& model, const Tokenizer& tok, const SchedulerOptions& opt)
    : model_(model),
      tok_(tok),
      opt_(opt),
      scratch_(model.config(), std::min(opt.n_batch, opt.n_ctx * opt.n_parallel), opt.n_ctx) {
    if (opt_.n_parallel < 1) fail("--parallel must be at least 1 (got %d)", opt_.n_parallel);
    if (opt_.n_ctx < 8)
        fail("--ctx must be at least 8 tokens (got %lld)", static_cast<long long>(opt_.n_ctx));
    if (opt_.n_batch < opt_.n_parallel * 8)
        fail("the batch (%lld tokens) must hold at least 8 tokens per slot (%d slots)",
             static_cast<long long>(opt_.n_batch), opt_.n_parallel);
    opt_.prefill_chunk = std::clamp<int64_t>(opt_.prefill_chunk, 1, opt_.n_batch);
    for (int i = 0; i < opt_.n_parallel; i++)
        slots_.push_back(std::make_unique<Slot>(i, model.config(), opt_.n_ctx, opt_.cache_type));
    logits_.resize(static_cast<size_t>(opt_.n_parallel) * static_cast<size_t>(model.config().n_vocab));
    close_text_ = "\n</think>\n\n";
    close_tokens_ = tok_.encode(close_text_, /*parse_special=*/true);
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::start() {
    std::lock_guard<std::mutex> lk(mu_);
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { loop(); });
}

void Scheduler::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::shared_ptr<GenChannel> Scheduler::submit(GenRequest req) {
    const int64_t n_ctx = req.n_ctx > 0 ? std::min(req.n_ctx, opt_.n_ctx) : opt_.n_ctx;
    using K = SubmitError::Kind;
    const int64_t n_prompt = static_cast<int64_t>(req.prompt.size());
    if (n_prompt == 0) throw SubmitError(K::BadRequest, "the prompt is empty");
    if (n_prompt >= n_ctx)
        throw SubmitError(
            K::ContextExceeded,
            strfmt("the prompt is %lld tokens but the context holds %lld (the prompt plus at least one "
                   "generated token must fit); shorten the prompt or start the server with a larger "
                   "--ctx",
                   static_cast<long long>(n_prompt), static_cast<long long>(n_ctx)));
    try {
        validate(req.sampling);
    } catch (const Error& e) {
        throw SubmitError(K::BadRequest, e.what());
    }
    const int64_t n_vocab = model_.config().n_vocab;
    for (int32_t t : req.prompt)
        if (t < 0 || t >= n_vocab)
            throw SubmitError(K::BadRequest, strfmt("prompt token %d is outside the vocabulary [0, %lld)", t,
                                                    static_cast<long long>(n_vocab)));
    for (const auto& [id, bias] : req.logit_bias)
        if (id < 0 || id >= n_vocab)
            throw SubmitError(K::BadRequest,
                              strfmt("logit_bias: token id %d is outside the vocabulary [0, %lld)", id,
                                     static_cast<long long>(n_vocab)));
    auto job = std::make_shared<Job>();
    job->req = std::move(req);
    job->ch = std::make_shared<GenChannel>();
    job->t_queued_ns = now_ns();
    auto ch = job->ch;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) throw SubmitError(K::ShuttingDown, "the server is shutting down");
        queue_.push_back(std::move(job));
        metrics_.queue_depth.store(static_cast<int>(queue_.size()));
    }
    cv_.notify_all();
    return ch;
}

// ---- the inference thread ----

void Scheduler::loop() {
    for (;;) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stop_) break;
        }
        admit();
        if (!step()) {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return stop_ || !queue_.empty(); });
        }
    }
    for (auto& s : slots_)
        if (s->job) finish(*s, GenFinish::Error, "the server is shutting down");
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& job : queue_) {
        GenEvent e;
        e.kind = GenEvent::Kind::Error;
        e.error = "the server is shutting down";
        job->ch->push(std::move(e));
    }
    queue_.clear();
    metrics_.queue_depth.store(0);
}

void Scheduler::admit() {
    std::lock_guard<std::mutex> lk(mu_);
    // Requests whose client left while queued are dropped without ever taking a slot.
    const size_t before = queue_.size();
    queue_.erase(
        std::remove_if(queue_.begin(), queue_.end(), [](const auto& j) { return j->ch->cancelled(); }),
        queue_.end());
    metrics_.requests_cancelled.fetch_add(static_cast<int64_t>(before - queue_.size()));
    while (!queue_.empty()) {
        // The free slot holding the longest prefix of the prompt (a chat's previous turn), else any free
        // slot.
        const std::vector<int32_t>& prompt = queue_.front()->req.prompt;
        Slot* best = nullptr;
        size_t best_lcp = 0;
        for (auto& s : slots_) {
            if (s->job) continue;
            size_t lcp = 0;
            while (lcp < s->cached.size() && lcp < prompt.size() && s->cached[lcp] == prompt[lcp]) lcp++;
            if (!best || lcp > best_lcp) best = s.get(), best_lcp = lcp;
        }
        if (!best) break;
        std::shared_ptr<Job> job = std::move(queue_.front());
        queue_.pop_front();

        Slot& s = *best;
        const GenRequest& r = job->req;
        const size_t keep = std::min(best_lcp, r.prompt.size() - 1);  // at least one token runs (for logits)
        s.job = job;
        s.order = admit_counter_++;
        s.n_ctx = r.n_ctx > 0 ? std::min(r.n_ctx, opt_.n_ctx) : opt_.n_ctx;
        s.cached.resize(keep);
        s.feed.assign(r.prompt.begin() + static_cast<std::ptrdiff_t>(keep), r.prompt.end());
        s.fed = 0;
        s.prefilling = true;
        s.logits_row = -1;
        s.sampler = std::make_unique<Sampler>(r.sampling, static_cast<int32_t>(model_.config().n_vocab));
        s.stops = std::make_unique<StopMatcher>(r.stop);
        s.decoder = std::make_unique<StreamDecoder>(tok_);
        s.splitter = r.split_reasoning ? std::make_unique<ReasoningSplitter>(r.starts_in_reasoning) : nullptr;
        s.monitor = std::make_unique<ReasoningMonitor>(r.reasoning);
        s.history = r.prompt;
        s.stats = GenStats{};
        s.stats.n_prompt = static_cast<int64_t>(r.prompt.size());
        s.stats.n_cached = static_cast<int64_t>(keep);
        s.stats.t_queued_ns = job->t_queued_ns;
        s.stats.t_started_ns = now_ns();
        s.stats.slot = s.id;
        if (r.thinking_disabled) s.stats.reasoning_closed = ReasoningClose::Disabled;
        metrics_.busy_slots.fetch_add(1);
    }
    metrics_.queue_depth.store(static_cast<int>(queue_.size()));
}

bool Scheduler::step() {
    for (auto& s : slots_)
        if (s->job && s->job->ch->cancelled()) finish(*s, GenFinish::Cancelled);

    batch_.clear();
    int rows = 0, n_decoding = 0, n_sequences = 0;
    for (auto& sp : slots_) {  // decode tokens first: every generating sequence advances every step
        Slot& s = *sp;
        s.step_tokens = 0;
        s.logits_row = -1;
        if (!s.job || s.prefilling) continue;
        const int64_t p0 = static_cast<int64_t>(s.cached.size());
        for (size_t i = 0; i < s.feed.size(); i++)
            batch_.add(s.feed[i], p0 + static_cast<int64_t>(i), &s.cache, i + 1 == s.feed.size());
        s.step_tokens = static_cast<int64_t>(s.feed.size());
        s.logits_row = rows++;
        n_decoding++;
    }
    std::vector<Slot*> prefill;
    for (auto& sp : slots_)
        if (sp->job && sp->prefilling) prefill.push_back(sp.get());
    std::sort(prefill.begin(), prefill.end(),
              [](const Slot* a, const Slot* b) { return a->order < b->order; });
    int64_t budget = n_decoding > 0 ? opt_.prefill_chunk : opt_.n_batch;
    budget = std::min(budget, opt_.n_batch - batch_.size());
    bool has_prompt = false;
    for (Slot* s : prefill) {
        if (budget <= 0) break;
        const int64_t left = static_cast<int64_t>(s->feed.size() - s->fed);
        const int64_t take = std::min(left, budget);
        const bool completes = take == left;
        const int64_t p0 = static_cast<int64_t>(s->cached.size());
        for (int64_t i = 0; i < take; i++)
            batch_.add(s->feed[s->fed + static_cast<size_t>(i)], p0 + i, &s->cache,
                       completes && i + 1 == take);
        s->step_tokens = take;
        if (completes) s->logits_row = rows++;
        budget -= take;
        has_prompt = true;
    }
    if (batch_.size() == 0) return false;
    for (auto& s : slots_) n_sequences += s->step_tokens > 0 ? 1 : 0;

    const int64_t t0 = now_ns();
    try {
        model_.forward(batch_, scratch_, logits_.data());
    } catch (const std::exception& e) {
        R1_LOG_ERROR("forward failed: %s", e.what());
        for (auto& s : slots_)
            if (s->job && s->step_tokens > 0) finish(*s, GenFinish::Error, e.what());
        return true;
    }
    const int64_t dt = now_ns() - t0;
    metrics_.steps.fetch_add(1);
    if (has_prompt) metrics_.prompt_step_ns.fetch_add(dt);
    if (rows > 0) metrics_.decode_step_ns.fetch_add(dt);
    if (n_sequences > metrics_.max_batch_sequences.load()) metrics_.max_batch_sequences.store(n_sequences);

    const size_t n_vocab = static_cast<size_t>(model_.config().n_vocab);
    for (auto& sp : slots_) {
        Slot& s = *sp;
        if (!s.job || s.step_tokens == 0) continue;
        if (s.prefilling) {
            const auto first = s.feed.begin() + static_cast<std::ptrdiff_t>(s.fed);
            s.cached.insert(s.cached.end(), first, first + s.step_tokens);
            s.fed += static_cast<size_t>(s.step_tokens);
            metrics_.prompt_tokens.fetch_add(s.step_tokens);
            if (s.fed == s.feed.size()) {
                s.prefilling = false;
                s.feed.clear();
                s.stats.t_prompt_done_ns = now_ns();
            }
        } else {
            s.cached.insert(s.cached.end(), s.feed.begin(), s.feed.end());
            s.feed.clear();
        }
        if (s.logits_row >= 0) sample(s, logits_.data() + static_cast<size_t>(s.logits_row) * n_vocab);
    }
    return true;
}

// ---- one sampled token ----

void Scheduler::emit(Slot& s, const std::string& reasoning, const std::string& content) {
    if (reasoning.empty() && content.empty()) return;
    GenEvent e;
    e.reasoning = reasoning;
    e.content = content;
    s.job->ch->push(std::move(e));
}

void Scheduler::push_text(Slot& s, const std::string& text) {
    if (text.empty()) return;
    if (!s.splitter) {
        emit(s, {}, text);
        return;
    }
    const bool before = s.splitter->in_reasoning();
    const ReasoningDelta d = s.splitter->push(text);
    if (before && !s.splitter->in_reasoning() && s.stats.reasoning_closed == ReasoningClose::None)
        s.stats.reasoning_closed = ReasoningClose::Model;
    emit(s, d.reasoning, d.content);
}

bool Scheduler::close_reasoning(Slot& s, ReasoningClose why) {
    // Everything held back so far belongs to the thought: release it before the switch.
    const std::string held = s.stops->flush(s.decoder->flush());
    const bool matched = s.stops->matched();
    s.stops->reset();
    s.stats.reasoning_closed = why;
    push_text(s, held);
    if (matched) return true;
    const ReasoningDelta c = s.splitter->close_reasoning();
    const ReasoningDelta x = s.splitter->push(close_text_);  // recognised and dropped by the splitter
    emit(s, c.reasoning + x.reasoning, c.content + x.content);
    s.feed.insert(s.feed.end(), close_tokens_.begin(), close_tokens_.end());
    s.history.insert(s.history.end(), close_tokens_.begin(), close_tokens_.end());
    const int64_t n = static_cast<int64_t>(close_tokens_.size());
    s.stats.n_completion += n;
    s.stats.n_reasoning += n;
    metrics_.generated_tokens.fetch_add(n);
    return false;
}

void Scheduler::sample(Slot& s, float* logits) {
    const GenRequest& r = s.job->req;
    const size_t n_vocab = static_cast<size_t>(model_.config().n_vocab);
    for (const auto& [id, bias] : r.logit_bias) logits[id] += bias;
    Sampled out{};
    try {
        out = s.sampler->sample(std::span<const float>(logits, n_vocab), s.history);
    } catch (const std::exception& e) {
        finish(s, GenFinish::Error, e.what());
        return;
    }
    const int32_t tok = out.token;
    s.history.push_back(tok);
    s.stats.n_completion++;
    metrics_.generated_tokens.fetch_add(1);
    const bool in_thought = s.splitter && s.splitter->in_reasoning();
    if (in_thought) s.stats.n_reasoning++;

    if (tok_.is_eog(tok)) {
        finish(s, GenFinish::Stop);
        return;
    }
    const StopMatcher::Result m = s.stops->push(s.decoder->push(tok));
    push_text(s, m.text);
    if (m.matched) {
        finish(s, GenFinish::Stop, {}, /*flush=*/false);
        return;
    }
    s.feed.assign(1, tok);
    if (in_thought && s.splitter->in_reasoning()) {
        const ReasoningClose why = s.monitor->observe(tok, tok_.token_bytes(tok));
        if (why != ReasoningClose::None && close_reasoning(s, why)) {
            finish(s, GenFinish::Stop, {}, false);
            return;
        }
    }
    if (r.max_tokens >= 0 && s.stats.n_completion >= r.max_tokens) {
        finish(s, GenFinish::Length);
        return;
    }
    if (static_cast<int64_t>(s.cached.size() + s.feed.size()) > s.n_ctx) finish(s, GenFinish::Length);
}

void Scheduler::finish(Slot& s, GenFinish why, const std::string& error, bool flush) {
    if (why == GenFinish::Stop || why == GenFinish::Length) {
        if (flush) push_text(s, s.stops->flush(s.decoder->flush()));
        if (s.splitter) {
            const ReasoningDelta d = s.splitter->flush();
            emit(s, d.reasoning, d.content);
        }
    }
    s.stats.finish = why;
    s.stats.t_done_ns = now_ns();
    if (s.stats.t_prompt_done_ns == 0) s.stats.t_prompt_done_ns = s.stats.t_done_ns;
    // Counters first, so a client that has seen Done also sees them.
    if (why == GenFinish::Cancelled)
        metrics_.requests_cancelled.fetch_add(1);
    else if (why == GenFinish::Error)
        metrics_.requests_failed.fetch_add(1);
    else
        metrics_.requests_done.fetch_add(1);
    metrics_.busy_slots.fetch_sub(1);
    GenEvent e;
    e.kind = why == GenFinish::Error ? GenEvent::Kind::Error : GenEvent::Kind::Done;
    e.stats = s.stats;
    e.error = error;
    s.job->ch->push(std::move(e));
    // `cached` is updated only after a successful forward, so it names exactly what the cache holds; the slot
    // keeps it for prefix reuse.
    s.job.reset();
    s.feed.clear();
    s.prefilling = false;
    s.sampler.reset();
    s.stops.reset();
    s.decoder.reset();
    s.splitter.reset();
    s.monitor.reset();
    s.history.clear();
}

}  // namespace r1
