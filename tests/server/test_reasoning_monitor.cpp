// ReasoningMonitor: the budget closes at the first sentence end at or after the budget (or after the grace),
// never before it; the loop detector fires exactly when the last n-gram reaches its repeat count.
#include "server/reasoning_monitor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace r1 {
namespace {

// Feeds (token, text) pairs; returns the 1-based index of the token after which the monitor said close, with
// the reason (0 / None if it never did).
std::pair<int, ReasoningClose> run(const ReasoningLimits& lim,
                                   const std::vector<std::pair<int32_t, std::string>>& toks) {
    ReasoningMonitor m(lim);
    for (size_t i = 0; i < toks.size(); i++) {
        const ReasoningClose r = m.observe(toks[i].first, toks[i].second);
        if (r != ReasoningClose::None) return {static_cast<int>(i + 1), r};
    }
    return {0, ReasoningClose::None};
}

TEST(EndsSentence, PunctuationQuotesAndLineBreaks) {
    EXPECT_TRUE(ends_sentence(".", "word"));
    EXPECT_TRUE(ends_sentence(" done.", ""));
    EXPECT_TRUE(ends_sentence("?\"", ""));
    EXPECT_TRUE(ends_sentence("!) ", ""));
    EXPECT_TRUE(ends_sentence("\n\n", ""));
    EXPECT_TRUE(ends_sentence("a\nb", ""));
    EXPECT_TRUE(ends_sentence("\u3002", ""));        // 。
    EXPECT_TRUE(ends_sentence("\uff1f\u300d", ""));  // ？」
    EXPECT_FALSE(ends_sentence(" word", ""));
    EXPECT_FALSE(ends_sentence(",", ""));
    EXPECT_FALSE(ends_sentence("", ""));
    EXPECT_FALSE(ends_sentence(".", "3"));         // a decimal point: "3" "." "14"
    EXPECT_TRUE(ends_sentence(".", " 3 apples"));  // after a word it ends the sentence
}

TEST(ReasoningBudget, ClosesAtTheFirstSentenceEndAfterTheBudget) {
    ReasoningLimits lim;
    lim.budget = 5;
    lim.detect_loops = false;
    // Sentence ends at tokens 2 and 8: the one before the budget is ignored, the one after closes.
    std::vector<std::pair<int32_t, std::string>> toks;
    for (int i = 1; i <= 20; i++) toks.push_back({i, (i == 2 || i == 8) ? " end." : " word"});
    EXPECT_EQ(run(lim, toks), std::make_pair(8, ReasoningClose::Budget));
    // A sentence end exactly at the budget closes there.
    toks[4].second = ".\n";
    EXPECT_EQ(run(lim, toks), std::make_pair(5, ReasoningClose::Budget));
}

TEST(ReasoningBudget, GraceCapsTheWaitForASentenceEnd) {
    ReasoningLimits lim;
    lim.budget = 5;
    lim.budget_grace = 3;
    lim.detect_loops = false;
    std::vector<std::pair<int32_t, std::string>> toks;
    for (int i = 1; i <= 20; i++) toks.push_back({i, " word"});
    EXPECT_EQ(run(lim, toks), std::make_pair(8, ReasoningClose::Budget));
}

TEST(ReasoningBudget, UnlimitedNeverCloses) {
    ReasoningLimits lim;
    lim.detect_loops = false;
    std::vector<std::pair<int32_t, std::string>> toks;
    for (int i = 1; i <= 500; i++) toks.push_back({i, "."});
    EXPECT_EQ(run(lim, toks).first, 0);
}

TEST(ReasoningLoops, RepeatedNgramFiresAtTheRepeatCount) {
    ReasoningLimits lim;
    lim.loop_ngram = 3;
    lim.loop_repeats = 3;
    std::vector<std::pair<int32_t, std::string>> toks;
    for (int rep = 0; rep < 5; rep++)
        for (int32_t t : {7, 8, 9}) toks.push_back({t, " x"});
    // 7 8 9 | 7 8 9 | 7 8 9: the third copy of "7 8 9" completes at token 9.
    EXPECT_EQ(run(lim, toks), std::make_pair(9, ReasoningClose::Loop));
}

TEST(ReasoningLoops, PeriodOneRunCountsOverlappingCopies) {
    ReasoningLimits lim;
    lim.loop_ngram = 4;
    lim.loop_repeats = 4;
    std::vector<std::pair<int32_t, std::string>> toks(20, {5, " the"});
    // Four overlapping copies of "5 5 5 5" need 4 + 3 = 7 tokens.
    EXPECT_EQ(run(lim, toks), std::make_pair(7, ReasoningClose::Loop));
}

TEST(ReasoningLoops, DistinctTokensAndOldRepeatsDoNotFire) {
    ReasoningLimits lim;
    lim.loop_ngram = 2;
    lim.loop_repeats = 3;
    lim.loop_window = 10;
    std::vector<std::pair<int32_t, std::string>> toks;
    for (int i = 0; i < 200; i++) toks.push_back({100 + i, " w"});
    EXPECT_EQ(run(lim, toks).first, 0);
    // "1 2" three times, but spread further apart than the window: no loop.
    toks.clear();
    for (int rep = 0; rep < 3; rep++) {
        toks.push_back({1, "a"});
        toks.push_back({2, "b"});
        for (int i = 0; i < 12; i++) toks.push_back({1000 * (rep + 1) + i, "c"});
    }
    EXPECT_EQ(run(lim, toks).first, 0);
}

TEST(ReasoningLoops, DisabledNeverFires) {
    ReasoningLimits lim;
    lim.detect_loops = false;
    std::vector<std::pair<int32_t, std::string>> toks(100, {5, " the"});
    EXPECT_EQ(run(lim, toks).first, 0);
}

TEST(ReasoningClose, Names) {
    EXPECT_EQ(reasoning_close_name(ReasoningClose::None), nullptr);
    EXPECT_STREQ(reasoning_close_name(ReasoningClose::Budget), "budget");
    EXPECT_STREQ(reasoning_close_name(ReasoningClose::Loop), "loop");
    EXPECT_STREQ(reasoning_close_name(ReasoningClose::Model), "model");
    EXPECT_STREQ(reasoning_close_name(ReasoningClose::Disabled), "disabled");
}

}  // namespace
}  // namespace r1
