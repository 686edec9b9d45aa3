// Generation sessions on a tiny random model with the real DeepSeek-V3 tokenizer: determinism, KV-cache reuse
// across turns (must equal a fresh run), stop strings, limits, cancellation and context overflow.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/error.h"
#include "engine/generate.h"
#include "model/random_model.h"
#include "tokenizer/tokenizer.h"

namespace r1 {
namespace {

class GenerateTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        const std::string tok_dir = std::string(R1_ASSETS_DIR) + "/deepseek_v3";
        if (!std::filesystem::exists(tok_dir + "/tokenizer.json")) return;
        tok_ = Tokenizer::from_path(tok_dir).release();
        RandomModelSpec s;
        s.arch = "qwen2";
        s.n_embd = 64, s.n_layer = 2, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 128, s.seed = 5;
        // per process: ctest runs the tests of this suite as separate processes, two at a time
        path_ = ::testing::TempDir() + "/r1_generate_test_" + std::to_string(::getpid()) + ".gguf";
        write_random_model(s, tok_, path_);
        model_ = Model::load(path_, {.prefault = false, .progress = false}).release();
    }
    static void TearDownTestSuite() {
        delete model_;
        delete tok_;
        if (!path_.empty()) std::filesystem::remove(path_);
    }
    void SetUp() override {
        if (!tok_) GTEST_SKIP() << "tokenizer assets missing (run scripts/fetch-assets.sh)";
        ASSERT_NE(model_, nullptr) << "the test model could not be written or loaded";
    }
    static GenerateParams greedy(int64_t n) {
        GenerateParams p;
        p.max_tokens = n;
        p.sampling.temperature = 0;
        p.stop_at_eog = false;
        return p;
    }
    static std::vector<int32_t> ids(const std::string& text) { return tok_->encode(text); }

    static inline Tokenizer* tok_ = nullptr;
    static inline Model* model_ = nullptr;
    static inline std::string path_;
};

TEST_F(GenerateTest, GreedyIsDeterministicAndReusesTheCache) {
    Session s(*model_, *tok_, 256);
    const auto prompt = ids("The quick brown fox");
    const GenerateResult a = s.generate(prompt, greedy(12), {});
    const GenerateResult b = s.generate(prompt, greedy(12), {});
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(b.timings.n_prompt_cached, static_cast<int64_t>(prompt.size()) - 1);
    EXPECT_EQ(a.finish, FinishReason::Length);
    EXPECT_EQ(static_cast<int64_t>(a.tokens.size()), 12);
}

TEST_F(GenerateTest, SecondTurnWithCacheEqualsAFreshSession) {
    Session s(*model_, *tok_, 256);
    auto turn1 = ids("<｜User｜>Hi<｜Assistant｜>");
    const GenerateResult r1 = s.generate(turn1, greedy(8), {});
    // The next prompt repeats turn 1 and its answer, then adds a user turn: most of it is cached.
    std::vector<int32_t> turn2 = turn1;
    turn2.insert(turn2.end(), r1.tokens.begin(), r1.tokens.end());
    const auto more = ids("<｜User｜>Again<｜Assistant｜>");
    turn2.insert(turn2.end(), more.begin(), more.end());
    const GenerateResult cached = s.generate(turn2, greedy(10), {});
    EXPECT_GT(cached.timings.n_prompt_cached, static_cast<int64_t>(turn1.size()));
    Session fresh(*model_, *tok_, 256);
    const GenerateResult full = fresh.generate(turn2, greedy(10), {});
    EXPECT_EQ(cached.tokens, full.tokens);
    ASSERT_EQ(cached.logprobs.size(), full.logprobs.size());
    for (size_t i = 0; i < full.logprobs.size(); i++) EXPECT_NEAR(cached.logprobs[i], full.logprobs[i], 1e-4);
}

TEST_F(GenerateTest, StopStringEndsTheTextBeforeIt) {
    Session s(*model_, *tok_, 256);
    const auto prompt = ids("Once upon a time");
    const GenerateResult free_run = s.generate(prompt, greedy(20), {});
    ASSERT_GT(free_run.text.size(), 6u);
    // A stop string taken from the middle of the free run's text.
    const std::string stop = free_run.text.substr(free_run.text.size() / 2, 3);
    GenerateParams p = greedy(20);
    p.stop = {stop};
    std::string streamed;
    const GenerateResult r = s.generate(prompt, p, [&](const std::string& piece) {
        streamed += piece;
        return true;
    });
    EXPECT_EQ(r.finish, FinishReason::StopString);
    EXPECT_EQ(r.text, streamed);
    EXPECT_EQ(r.text, free_run.text.substr(0, free_run.text.find(stop)));
}

TEST_F(GenerateTest, CallbackCanCancelAndLimitsAreEnforced) {
    Session s(*model_, *tok_, 32);
    int pieces = 0;
    const GenerateResult r =
        s.generate(ids("Hello"), greedy(20), [&](const std::string&) { return ++pieces < 3; });
    EXPECT_EQ(r.finish, FinishReason::Cancelled);
    EXPECT_EQ(pieces, 3);
    // The context (32) fills before max_tokens (100).
    const GenerateResult full = s.generate(ids("Hello"), greedy(100), {});
    EXPECT_EQ(full.finish, FinishReason::ContextFull);
    // A prompt that does not fit is refused with a message, never truncated.
    std::vector<int32_t> long_prompt(40, ids("a")[0]);
    try {
        s.generate(long_prompt, greedy(1), {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("context holds 32"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace r1
