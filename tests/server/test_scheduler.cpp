// Scheduler (continuous batching) on the tiny random model, without HTTP: batched output equals sequential
// output under greedy sampling; sequences really share forward calls; queueing beyond the slots; cancellation
// frees the slot at once; context limits; stop strings; prefix reuse; the reasoning budget and loop detection
// force-close the thought through injected "</think>" tokens and the answer follows.
#include "server/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "base/error.h"
#include "base/timer.h"
#include "engine/chat.h"
#include "server/server_test_util.h"

namespace r1 {
namespace {

struct Outcome {
    std::string reasoning, content, error;
    GenStats stats;
    bool finished = false;
    int n_deltas = 0;
};

Outcome collect(const std::shared_ptr<GenChannel>& ch, double timeout_s = 120) {
    Outcome o;
    const double t_end = now_s() + timeout_s;
    std::vector<GenEvent> evs;
    while (!o.finished && now_s() < t_end) {
        evs.clear();
        if (!ch->pop_all(evs, std::chrono::milliseconds(50))) continue;
        for (const GenEvent& e : evs) {
            if (e.kind == GenEvent::Kind::Delta) {
                EXPECT_TRUE(o.content.empty() || e.reasoning.empty()) << "reasoning after content";
                o.reasoning += e.reasoning;
                o.content += e.content;
                o.n_deltas++;
            } else {
                o.stats = e.stats;
                o.error = e.error;
                o.finished = true;
            }
        }
    }
    return o;
}

class SchedulerTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        LoadOptions lo;
        lo.progress = false;
        model_ = Model::load(test::tiny_model_path(), lo).release();
        tok_ = Tokenizer::from_gguf(model_->file()).release();
    }
    static void TearDownTestSuite() {
        delete tok_;
        delete model_;
    }

    static GenRequest chat(const std::string& question, int64_t max_tokens, bool thinking = true) {
        RenderOptions ro;
        ro.bos_text = tok_->token_text(tok_->bos());
        ro.enable_thinking = thinking;
        const std::vector<ChatMessage> msgs{{"user", question}};
        const ChatPrompt p = render_chat(ChatFormat::DeepSeekR1, msgs, ro);
        GenRequest r;
        r.prompt = tok_->encode(p.text, true);
        r.max_tokens = max_tokens;
        r.sampling.temperature = 0;  // greedy: deterministic
        r.split_reasoning = true;
        r.starts_in_reasoning = p.starts_in_reasoning;
        r.thinking_disabled = !thinking;
        r.reasoning.detect_loops = false;
        return r;
    }

    static std::unique_ptr<Scheduler> make(int parallel, int64_t ctx = 1024, int64_t prefill_chunk = 128) {
        SchedulerOptions o;
        o.n_parallel = parallel;
        o.n_ctx = ctx;
        o.n_batch = 256;
        o.prefill_chunk = prefill_chunk;
        auto s = std::make_unique<Scheduler>(*model_, *tok_, o);
        s->start();
        return s;
    }

    static Model* model_;
    static Tokenizer* tok_;
};
Model* SchedulerTest::model_ = nullptr;
Tokenizer* SchedulerTest::tok_ = nullptr;

TEST_F(SchedulerTest, BatchedEqualsSequentialAndSharesForwardCalls) {
    auto sched = make(4, 1024, 16);  // a small prefill chunk: prompts interleave with decoding
    std::vector<std::string> questions;
    for (int i = 0; i < 7; i++)
        questions.push_back("Question number " + std::to_string(i) + ": what is " + std::to_string(i * 17) +
                            " plus " + std::to_string(i + 3) + "?");
    std::vector<Outcome> sequential;
    for (const auto& q : questions) sequential.push_back(collect(sched->submit(chat(q, 24))));

    auto batched_sched = make(4, 1024, 16);  // fresh slots: no prefix reuse from the sequential run
    std::vector<std::shared_ptr<GenChannel>> chans;
    for (const auto& q : questions) chans.push_back(batched_sched->submit(chat(q, 24)));
    for (size_t i = 0; i < questions.size(); i++) {
        const Outcome b = collect(chans[i]);
        ASSERT_TRUE(b.finished);
        EXPECT_EQ(b.stats.finish, GenFinish::Length);
        EXPECT_EQ(b.stats.n_completion, 24);
        EXPECT_EQ(b.reasoning, sequential[i].reasoning) << "request " << i;
        EXPECT_EQ(b.content, sequential[i].content) << "request " << i;
        EXPECT_FALSE(b.reasoning.empty());  // R1 prompt: the output starts inside the thought
    }
    // 7 requests on 4 slots: some shared one forward, and three waited in the queue.
    EXPECT_GE(batched_sched->metrics().max_batch_sequences.load(), 4);
    EXPECT_EQ(batched_sched->metrics().requests_done.load(), 7);
    EXPECT_EQ(batched_sched->metrics().busy_slots.load(), 0);
}

TEST_F(SchedulerTest, CancelFreesTheSlotAtOnce) {
    auto sched = make(1, 4096);
    auto long_run = sched->submit(chat("Tell me a long story.", -1));  // until the context is full
    auto queued = sched->submit(chat("Short one.", 8));
    // Wait for the first tokens of the long run, then cancel it (its client went away).
    std::vector<GenEvent> evs;
    const double t0 = now_s();
    while (evs.empty() && now_s() - t0 < 30) long_run->pop_all(evs, std::chrono::milliseconds(20));
    ASSERT_FALSE(evs.empty());
    long_run->cancel();
    const double t_cancel = now_s();
    const Outcome q = collect(queued, 30);
    ASSERT_TRUE(q.finished);
    EXPECT_EQ(q.stats.n_completion, 8);
    EXPECT_LT(now_s() - t_cancel, 5.0);  // the 4096-token run would take far longer
    const Outcome l = collect(long_run, 5);
    ASSERT_TRUE(l.finished);
    EXPECT_EQ(l.stats.finish, GenFinish::Cancelled);
    EXPECT_LT(l.stats.n_completion, 2000);
    EXPECT_EQ(sched->metrics().requests_cancelled.load(), 1);
}

TEST_F(SchedulerTest, PromptLongerThanContextIsRefused) {
    auto sched = make(1, 64);
    std::string q;
    for (int i = 0; i < 100; i++) q += "word ";
    try {
        sched->submit(chat(q, 8));
        FAIL() << "expected r1::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("context holds 64"), std::string::npos) << e.what();
    }
    GenRequest empty = chat("x", 4);
    empty.prompt.clear();
    EXPECT_THROW(sched->submit(empty), Error);
}

TEST_F(SchedulerTest, GenerationStopsAtTheContextLimit) {
    auto sched = make(1, 1024);
    GenRequest r = chat("Hi", -1);
    r.n_ctx = 40;  // per-request limit below the slot's
    const int64_t n_prompt = static_cast<int64_t>(r.prompt.size());
    const Outcome o = collect(sched->submit(r));
    ASSERT_TRUE(o.finished);
    EXPECT_EQ(o.stats.finish, GenFinish::Length);
    EXPECT_EQ(o.stats.n_prompt + o.stats.n_completion, 40 + 1) << "prompt " << n_prompt;
}

TEST_F(SchedulerTest, StopStringCutsTheOutput) {
    auto sched = make(1);
    const Outcome full = collect(sched->submit(chat("Stop test", 32)));
    const std::string all = full.reasoning;
    ASSERT_GT(all.size(), 12u);
    const std::string stop = all.substr(all.size() / 2, 3);
    GenRequest r = chat("Stop test", 32);
    r.stop = {stop};
    const Outcome cut = collect(sched->submit(r));
    EXPECT_EQ(cut.stats.finish, GenFinish::Stop);
    EXPECT_EQ(cut.reasoning, all.substr(0, all.find(stop)));  // text before the first occurrence
    EXPECT_LT(cut.stats.n_completion, 32);
}

TEST_F(SchedulerTest, RepeatedPromptReusesTheSlotsPrefix) {
    auto sched = make(2);
    const Outcome a = collect(sched->submit(chat("Same prompt twice", 12)));
    const Outcome b = collect(sched->submit(chat("Same prompt twice", 12)));
    EXPECT_EQ(a.stats.n_cached, 0);
    EXPECT_EQ(b.stats.n_cached, b.stats.n_prompt - 1);
    EXPECT_EQ(a.reasoning, b.reasoning);
}

TEST_F(SchedulerTest, BudgetClosesTheThoughtAndTheModelAnswers) {
    auto sched = make(1);
    const int32_t dot = tok_->find(".");
    ASSERT_GE(dot, 0);
    GenRequest r = chat("Budget", 30);
    r.logit_bias = {{dot, 100.0f}};  // the model can only say "."; each one ends a sentence
    r.reasoning.budget = 6;
    const Outcome o = collect(sched->submit(r));
    ASSERT_TRUE(o.finished);
    EXPECT_EQ(o.stats.reasoning_closed, ReasoningClose::Budget);
    EXPECT_EQ(o.reasoning, "......");
    const int64_t n_close = static_cast<int64_t>(tok_->encode("\n</think>\n\n", true).size());
    EXPECT_EQ(o.stats.n_reasoning, 6 + n_close);
    EXPECT_EQ(o.stats.n_completion, 30);
    EXPECT_EQ(o.content, std::string(static_cast<size_t>(30 - 6 - n_close), '.'));
    EXPECT_EQ(o.content.find("think"), std::string::npos);
}

TEST_F(SchedulerTest, LoopDetectionClosesARepeatingThought) {
    auto sched = make(1);
    const int32_t the = tok_->find("\xC4\xA0the");  // "Ġthe": " the"
    ASSERT_GE(the, 0);
    GenRequest r = chat("Loop", 40);
    r.logit_bias = {{the, 100.0f}};
    r.reasoning.detect_loops = true;  // defaults: 10-gram, 4 repeats -> closes after 13 tokens
    const Outcome o = collect(sched->submit(r));
    EXPECT_EQ(o.stats.reasoning_closed, ReasoningClose::Loop);
    std::string expect = "the";
    for (int i = 1; i < 13; i++) expect += " the";
    EXPECT_EQ(o.reasoning, expect);
    EXPECT_FALSE(o.content.empty());
    // Off: the thought runs to the token limit.
    r.reasoning.detect_loops = false;
    const Outcome off = collect(sched->submit(r));
    EXPECT_EQ(off.stats.reasoning_closed, ReasoningClose::None);
    EXPECT_TRUE(off.content.empty());
    EXPECT_EQ(off.stats.n_reasoning, 40);
}

TEST_F(SchedulerTest, ThinkingDisabledAnswersAtOnce) {
    auto sched = make(1);
    const Outcome o = collect(sched->submit(chat("No thinking", 16, /*thinking=*/false)));
    EXPECT_EQ(o.stats.reasoning_closed, ReasoningClose::Disabled);
    EXPECT_TRUE(o.reasoning.empty());
    EXPECT_FALSE(o.content.empty());
    EXPECT_EQ(o.stats.n_reasoning, 0);
}

}  // namespace
}  // namespace r1
