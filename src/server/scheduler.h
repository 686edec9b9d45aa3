// Continuous batching: one inference thread owns the model and runs up to n_parallel sequences at once.
//
// Each step builds ONE Batch for Model::forward from
//   - the decode token(s) of every generating sequence (its last sampled token, plus the injected "</think>"
//     tokens when the reasoning was just force-closed), and
//   - prompt chunks of sequences still prefilling, oldest request first, at most `prefill_chunk` tokens per
//     step while other sequences are decoding (so their streams keep flowing) and `n_batch` when none are,
// then samples one token for every sequence whose batch rows produced logits. New requests wait in a FIFO
// queue until a slot is free. Each slot owns a KvCache of n_ctx positions and remembers which tokens it
// holds, so a request that repeats a slot's prefix (the next turn of a chat) skips that part of the prefill.
//
// HTTP threads talk to it through a GenChannel per request: submit() returns the channel, the scheduler
// pushes text deltas and a final Done (or Error) event, and the HTTP side cancel()s it when its client goes
// away; a cancelled request leaves its slot (or the queue) at the next step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/error.h"
#include "engine/sampler.h"
#include "model/model.h"
#include "server/reasoning_monitor.h"

namespace r1 {

class Tokenizer;

// What to generate. The prompt is already rendered and tokenised.
struct GenRequest {
    std::vector<int32_t> prompt;
    int64_t max_tokens = -1;  // completion tokens (reasoning included); -1: until the context is full
    int64_t n_ctx = 0;        // per-request context limit (<= the slot's); 0: the slot's
    SamplingParams sampling;
    std::vector<std::string> stop;
    std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logits before sampling
    bool split_reasoning = true;       // run the <think> splitter (chat); false: all text is content
    bool starts_in_reasoning = false;  // the prompt ended inside an open thought (ChatPrompt)
    bool thinking_disabled = false;    // reported as reasoning closed by "disabled"
    ReasoningLimits reasoning;
};

// Why submit() refused a request (an r1::Error with the message for the client).
class SubmitError : public Error {
  public:
    enum class Kind { BadRequest, ContextExceeded, ShuttingDown };
    SubmitError(Kind k, const std::string& what) : Error(what), kind(k) {}
    Kind kind;
};

enum class GenFinish { Stop, Length, Cancelled, Error };
const char* gen_finish_name(GenFinish f);  // "stop" | "length" | "cancelled" | "error"

struct GenStats {
    int64_t n_prompt = 0;      // prompt tokens
    int64_t n_cached = 0;      // of which reused from the slot's cache
    int64_t n_completion = 0;  // generated tokens (sampled + injected)
    int64_t n_reasoning = 0;   // of which inside the thought (the closing tag included)
    int64_t t_queued_ns = 0, t_started_ns = 0, t_prompt_done_ns = 0, t_done_ns = 0;  // steady clock
    GenFinish finish = GenFinish::Stop;
    ReasoningClose reasoning_closed = ReasoningClose::None;
    int slot = -1;
};

struct GenEvent {
    enum class Kind { Delta, Done, Error } kind = Kind::Delta;
    std::string reasoning, content;  // Delta
    GenStats stats;                  // Done / Error
    std::string error;               // Error
};

// A request's event queue between the inference thread (producer) and one HTTP thread (consumer).
class GenChannel {
  public:
    void push(GenEvent e);
    // Moves every pending event into `out` (consecutive deltas merged), waiting up to `timeout` for one.
    // Returns false if none arrived.
    bool pop_all(std::vector<GenEvent>& out, std::chrono::milliseconds timeout);
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<GenEvent> events_;
    std::atomic<bool> cancelled_{false};
};

struct SchedulerOptions {
    int n_parallel = 4;           // slots (sequences decoded together)
    int64_t n_ctx = 4096;         // context per slot (prompt + output)
    int64_t n_batch = 512;        // max tokens in one forward call
    int64_t prefill_chunk = 128;  // max prompt tokens per step while other sequences are decoding
    CacheType cache_type = CacheType::BF16;
};

// Counters for /metrics (read with relaxed atomics; good enough for monitoring).
struct SchedulerMetrics {
    std::atomic<int64_t> prompt_tokens{0};     // prompt tokens evaluated (cache hits excluded)
    std::atomic<int64_t> generated_tokens{0};  // completion tokens
    std::atomic<int64_t> prompt_step_ns{0};    // wall time of steps that evaluated prompt tokens
    std::atomic<int64_t> decode_step_ns{0};    // wall time of steps that sampled tokens
    std::atomic<int64_t> requests_done{0}, requests_cancelled{0}, requests_failed{0};
    std::atomic<int64_t> steps{0};
    std::atomic<int64_t> max_batch_sequences{0};  // most sequences that shared one forward call
    std::atomic<int> queue_depth{0}, busy_slots{0};
};

class Scheduler {
  public:
    Scheduler(const Model& model, const Tokenizer& tok, const SchedulerOptions& opt);
    ~Scheduler();  // stops the inference thread; queued and running requests get an Error event

    void start();
    void stop();

    // Queues a request. Throws SubmitError when the prompt is empty, does not fit in the context, or a value
    // is invalid, or when the scheduler is stopping; the caller answers the client with it.
    std::shared_ptr<GenChannel> submit(GenRequest req);

    const SchedulerOptions& options() const { return opt_; }
    const SchedulerMetrics& metrics() const { return metrics_; }

  private:
    struct Job;
    struct Slot;

    void loop();
    void admit();                         // queue -> free slots
    bool step();                          // one forward; false when idle
    void sample(Slot& s, float* logits);  // applies the logit bias in place
    // Sends Done/Error and frees the slot; flush: emit the text still held back (not after a stop string).
    void finish(Slot& s, GenFinish why, const std::string& error = {}, bool flush = true);
    void emit(Slot& s, const std::string& reasoning, const std::string& content);
    void push_text(Slot& s, const std::string& text);  // stop strings -> splitter -> events
    // Forces the thought closed; returns true if a stop string matched in the released text (then finish).
    bool close_reasoning(Slot& s, ReasoningClose why);

    const Model& model_;
    const Tokenizer& tok_;
    SchedulerOptions opt_;
    SchedulerMetrics metrics_;

    std::vector<std::unique_ptr<Slot>> slots_;
    Scratch scratch_;
    Batch batch_;
    std::vector<float> logits_;          // [n_parallel, n_vocab]
    std::vector<int32_t> close_tokens_;  // "\n</think>\n\n" tokenised
    std::string close_text_;
    uint64_t admit_counter_ = 0;

    std::mutex mu_;  // guards queue_ and stop_
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace r1
