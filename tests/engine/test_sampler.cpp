// Sampler: greedy, each filter's kept set on hand-made logits, penalties by hand, seeds, empirical
// frequencies (chi-square with a fixed seed), logprob = log-softmax of the filtered distribution, NaN/inf
// logits, validation, and the log-softmax helpers.
#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "base/error.h"
#include "base/rng.h"

namespace r1 {
namespace {

const float kNaN = std::nanf("");
const float kInf = std::numeric_limits<float>::infinity();

SamplingParams plain(float temperature = 1.0f) {  // every filter off
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 1234;
    return p;
}

std::vector<float> logits_of_probs(const std::vector<double>& probs) {
    std::vector<float> out;
    for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
    return out;
}

// Expected log-probabilities of the kept ids under softmax(logits / T) renormalised over the kept set.
std::map<int32_t, double> expected_logprobs(const std::vector<float>& logits, const std::set<int32_t>& kept,
                                            double temperature) {
    double mx = -1e300;
    for (int32_t id : kept) mx = std::max(mx, static_cast<double>(logits[id]) / temperature);
    double sum = 0;
    for (int32_t id : kept) sum += std::exp(logits[id] / temperature - mx);
    std::map<int32_t, double> out;
    for (int32_t id : kept) out[id] = logits[id] / temperature - mx - std::log(sum);
    return out;
}

// Draws n tokens and checks each lands in `kept` with the expected logprob; returns the draw counts.
std::map<int32_t, int> draw_and_check(Sampler& s, const std::vector<float>& logits,
                                      const std::set<int32_t>& kept, int n,
                                      std::span<const int32_t> history = {}) {
    auto expected = expected_logprobs(logits, kept, s.params().temperature);
    std::map<int32_t, int> counts;
    for (int i = 0; i < n; ++i) {
        Sampled d = s.sample(logits, history);
        EXPECT_TRUE(kept.count(d.token)) << "token " << d.token << " is outside the kept set";
        if (kept.count(d.token)) {
            EXPECT_NEAR(d.logprob, expected[d.token], 1e-5) << "token " << d.token;
        }
        counts[d.token]++;
    }
    return counts;
}

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
    SamplingParams p = plain(0.0f);
    Sampler s(p, 5);
    std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 2.5f};
    Sampled d = s.sample(logits);
    EXPECT_EQ(d.token, 1);
    EXPECT_NEAR(d.logprob, token_logprob(logits, 1), 1e-6);
    // Greedy ignores the filters entirely.
    p.top_k = 1;
    p.top_p = 0.1f;
    Sampler s2(p, 5);
    EXPECT_EQ(s2.sample(logits).token, 1);
}

TEST(Sampler, GreedySkipsNaNAndTakesPlusInfinity) {
    Sampler s(plain(0.0f), 4);
    std::vector<float> a = {kNaN, 1.0f, kNaN, 0.5f};
    EXPECT_EQ(s.sample(a).token, 1);
    std::vector<float> b = {1.0f, kInf, 2.0f, kInf};
    EXPECT_EQ(s.sample(b).token, 1);
    std::vector<float> c = {kNaN, -kInf, kNaN, kNaN};
    EXPECT_THROW(s.sample(c), Error);
}

TEST(Sampler, TopKKeepsExactlyTheKLargest) {
    SamplingParams p = plain(1.0f);
    p.top_k = 2;
    Sampler s(p, 5);
    std::vector<float> logits = {0.0f, 5.0f, 1.0f, 4.0f, 3.0f};
    auto counts = draw_and_check(s, logits, {1, 3}, 2000);
    EXPECT_GT(counts[1], 0);
    EXPECT_GT(counts[3], 0);
}

TEST(Sampler, TopKTiesKeepTheLowestIds) {
    SamplingParams p = plain(1.0f);
    p.top_k = 2;
    Sampler s(p, 6);
    std::vector<float> logits = {0.0f, 1.0f, 1.0f, 1.0f, 1.0f, -1.0f};
    auto counts = draw_and_check(s, logits, {1, 2}, 2000);
    EXPECT_GT(counts[1], 0);
    EXPECT_GT(counts[2], 0);
}

TEST(Sampler, TopKOnALargeVocabularyWithTies) {
    // Logits on a coarse grid, so many ties cross the k boundary; both selection paths (heap scan for k <=
    // 256, nth_element above) must keep exactly the k best by (logit descending, id ascending).
    const int32_t n = 5000;
    Rng rng(11);
    std::vector<float> logits(n);
    for (float& x : logits) x = static_cast<float>(rng.below(40)) * 0.25f;
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    for (int k : {1, 7, 100, 256, 257, 1000}) {
        SamplingParams p = plain(1.0f);
        p.top_k = k;
        Sampler s(p, n);
        std::set<int32_t> kept(order.begin(), order.begin() + k);
        draw_and_check(s, logits, kept, 300);
    }
}

TEST(Sampler, TokensFarBelowTheMaxHaveNoMass) {
    // exp(-100) underflows float: such tokens are never drawn, and the best one has logprob 0.
    Sampler s(plain(1.0f), 3);
    std::vector<float> logits = {5.0f, -95.0f, -1e30f};
    for (int i = 0; i < 100; ++i) {
        Sampled d = s.sample(logits);
        EXPECT_EQ(d.token, 0);
        EXPECT_NEAR(d.logprob, 0.0f, 1e-6);
    }
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingTheMass) {
    // probs 0.5, 0.3, 0.15, 0.05 (shuffled ids).
    std::vector<float> logits = logits_of_probs({0.15, 0.5, 0.05, 0.3});
    struct Case {
        float top_p;
        std::set<int32_t> kept;
    };
    for (const Case& c :
         {Case{0.45f, {1}}, Case{0.7f, {1, 3}}, Case{0.85f, {1, 3, 0}}, Case{0.99f, {1, 3, 0, 2}}}) {
        SamplingParams p = plain(1.0f);
        p.top_p = c.top_p;
        Sampler s(p, 4);
        auto counts = draw_and_check(s, logits, c.kept, 3000);
        for (int32_t id : c.kept) EXPECT_GT(counts[id], 0) << "top_p " << c.top_p << " id " << id;
    }
}

TEST(Sampler, TopPOnALargeVocabularyMatchesAFullSort) {
    // Nearly flat logits: top-p 0.5 keeps thousands of tokens, so the incremental prefix sort must grow many
    // times.
    const int32_t n = 20000;
    Rng rng(7);
    std::vector<float> logits(n);
    for (float& x : logits) x = 0.3f * rng.normal();
    const double temperature = 0.8, top_p = 0.5;
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    double total = 0;
    for (float x : logits) total += std::exp(x / temperature);
    std::set<int32_t> kept;
    double cum = 0;
    for (int32_t id : order) {
        kept.insert(id);
        cum += std::exp(logits[id] / temperature);
        if (cum >= top_p * total) break;
    }
    ASSERT_GT(kept.size(), 1000u);
    SamplingParams p = plain(static_cast<float>(temperature));
    p.top_p = static_cast<float>(top_p);
    Sampler s(p, n);
    // The set boundary may move by a token through float vs double rounding; none is that close here.
    draw_and_check(s, logits, kept, 100);
}

TEST(Sampler, MinPKeepsTokensAboveTheFractionOfTheBest) {
    std::vector<float> logits = logits_of_probs({0.5, 0.3, 0.15, 0.05});
    struct Case {
        float min_p;
        std::set<int32_t> kept;
    };
    for (const Case& c :
         {Case{0.25f, {0, 1, 2}}, Case{0.5f, {0, 1}}, Case{0.7f, {0}}, Case{0.05f, {0, 1, 2, 3}}}) {
        SamplingParams p = plain(1.0f);
        p.min_p = c.min_p;
        Sampler s(p, 4);
        auto counts = draw_and_check(s, logits, c.kept, 3000);
        for (int32_t id : c.kept) EXPECT_GT(counts[id], 0) << "min_p " << c.min_p << " id " << id;
    }
}

TEST(Sampler, MinPAfterTopPIsTheIntersection) {
    std::vector<float> logits = logits_of_probs({0.5, 0.3, 0.15, 0.05});
    SamplingParams p = plain(1.0f);
    p.top_p = 0.85f;  // {0, 1, 2}
    p.min_p = 0.5f;   // {0, 1}
    Sampler s(p, 4);
    draw_and_check(s, logits, {0, 1}, 2000);
}

TEST(Sampler, TemperatureIsAppliedBeforeTopP) {
    // probs at T=1: 0.5, 0.3, 0.15, 0.05. At T=0.5 they become ~0.69, 0.25, 0.06, 0.007, so top-p 0.9 keeps
    // only {0, 1} (it would keep {0, 1, 2} if top-p saw the T=1 distribution, as in llama.cpp's chain).
    std::vector<float> logits = logits_of_probs({0.5, 0.3, 0.15, 0.05});
    SamplingParams p = plain(0.5f);
    p.top_p = 0.9f;
    Sampler s(p, 4);
    draw_and_check(s, logits, {0, 1}, 2000);
}

TEST(Sampler, PenaltiesMatchHandComputation) {
    // logits 2.0, 1.5, -1.0, 0.5, 0.25; history counts: token 0 twice, token 2 once.
    // repeat 2: 2.0 -> 1.0, -1.0 -> -2.0; then freq 0.1 * count + presence 0.2: 1.0 -> 0.6, -2.0 -> -2.3.
    std::vector<float> logits = {2.0f, 1.5f, -1.0f, 0.5f, 0.25f};
    std::vector<int32_t> history = {0, 2, 0};
    std::vector<float> penalised = {0.6f, 1.5f, -2.3f, 0.5f, 0.25f};
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.1f;
    p.presence_penalty = 0.2f;
    Sampler s(p, 5);
    Sampled d = s.sample(logits, history);
    EXPECT_EQ(d.token, 1);
    EXPECT_NEAR(d.logprob, token_logprob(penalised, 1), 1e-6);
    // Sampled (T = 1): the logprob of every draw is the log-softmax of the penalised logits.
    p.temperature = 1.0f;
    Sampler s2(p, 5);
    auto expected = expected_logprobs(penalised, {0, 1, 2, 3, 4}, 1.0);
    for (int i = 0; i < 200; ++i) {
        Sampled e = s2.sample(logits, history);
        EXPECT_NEAR(e.logprob, expected[e.token], 1e-5);
    }
    // The repeat penalty alone on a positive and a negative logit.
    SamplingParams q = plain(0.0f);
    q.repeat_penalty = 1.5f;
    Sampler s3(q, 5);
    std::vector<int32_t> h3 = {0, 2};
    std::vector<float> pen3 = {2.0f / 1.5f, 1.5f, -1.5f, 0.5f, 0.25f};
    Sampled f = s3.sample(logits, h3);
    EXPECT_EQ(f.token, 1);  // 1.5 > 2/1.5
    EXPECT_NEAR(f.logprob, token_logprob(pen3, 1), 1e-6);
}

TEST(Sampler, PenaltyWindowIsTheLastNTokens) {
    std::vector<float> logits = {2.0f, 1.9f, 0.0f};
    std::vector<int32_t> history = {0, 0, 1};
    SamplingParams p = plain(0.0f);
    p.presence_penalty = 1.0f;
    p.repeat_last_n = 1;  // only token 1 is penalised: 2.0 wins
    EXPECT_EQ(Sampler(p, 3).sample(logits, history).token, 0);
    p.repeat_last_n = 3;  // both: 1.0 vs 0.9 -> 0 still; frequency decides below
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.2f;  // 2.0 - 0.4 = 1.6 < 1.9 - 0.2 = 1.7
    EXPECT_EQ(Sampler(p, 3).sample(logits, history).token, 1);
    p.repeat_last_n = -1;  // whole history, same here
    EXPECT_EQ(Sampler(p, 3).sample(logits, history).token, 1);
    p.repeat_last_n = 0;  // off
    EXPECT_EQ(Sampler(p, 3).sample(logits, history).token, 0);
    // Repeated calls: the per-token counters are cleared after every call.
    p.repeat_last_n = 64;
    Sampler s(p, 3);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(s.sample(logits, history).token, 1);
    EXPECT_EQ(s.sample(logits, {}).token, 0);
}

TEST(Sampler, FixedSeedGivesFixedDraws) {
    std::vector<float> logits = logits_of_probs({0.2, 0.2, 0.2, 0.2, 0.2});
    SamplingParams p = plain(1.0f);
    p.seed = 42;
    Sampler a(p, 5), b(p, 5);
    std::vector<int32_t> da, db;
    for (int i = 0; i < 64; ++i) {
        da.push_back(a.sample(logits).token);
        db.push_back(b.sample(logits).token);
    }
    EXPECT_EQ(da, db);
    p.seed = 43;
    Sampler c(p, 5);
    std::vector<int32_t> dc;
    for (int i = 0; i < 64; ++i) dc.push_back(c.sample(logits).token);
    EXPECT_NE(da, dc);
    a.reseed(42);
    std::vector<int32_t> again;
    for (int i = 0; i < 64; ++i) again.push_back(a.sample(logits).token);
    EXPECT_EQ(da, again);
    EXPECT_EQ(a.seed(), 42u);
    // The default asks the clock for a seed, which is reported.
    Sampler r(SamplingParams{}, 5);
    EXPECT_NE(r.seed(), SamplingParams::kRandomSeed);
}

// Pearson chi-square of the counts against the expected probabilities.
double chi_square(const std::map<int32_t, int>& counts, const std::map<int32_t, double>& logprobs, int n) {
    double chi = 0;
    for (auto [id, lp] : logprobs) {
        double e = n * std::exp(lp);
        auto it = counts.find(id);
        double o = it == counts.end() ? 0 : it->second;
        chi += (o - e) * (o - e) / e;
    }
    return chi;
}

TEST(Sampler, EmpiricalFrequenciesMatchTheDistribution) {
    // 8 tokens, T = 0.7, no cuts: df = 7. chi^2 > 30 has p < 1e-4; the seed is fixed, so this is
    // deterministic.
    std::vector<float> logits = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f};
    SamplingParams p = plain(0.7f);
    p.seed = 2024;
    Sampler s(p, 8);
    const int n = 100000;
    std::set<int32_t> all = {0, 1, 2, 3, 4, 5, 6, 7};
    auto counts = draw_and_check(s, logits, all, n);
    double chi = chi_square(counts, expected_logprobs(logits, all, 0.7), n);
    EXPECT_LT(chi, 30.0);
    EXPECT_GT(chi, 0.5);  // suspiciously perfect fits mean the test is not measuring anything

    // With top-k 6 + top-p 0.9 + min-p 0.1 the draw follows the renormalised survivors.
    // T = 1 probs (sorted): 3: .37, 5: .22, 0: .14, 7: .10, 1: .06, 4: .05, 2: .03, 6: .02.
    // top-k 6 drops 2, 6 (k-set mass .95); top-p 0.9 over the k-set keeps 3, 5, 0, 7, 1 (renormalised
    // cumulative .39, .63, .78, .88, .95); min-p .1 keeps all five (the smallest, 1, has .065 / .39 of the
    // best).
    SamplingParams q = plain(1.0f);
    q.top_k = 6;
    q.top_p = 0.9f;
    q.min_p = 0.1f;
    q.seed = 99;
    Sampler t(q, 8);
    std::set<int32_t> kept = {3, 5, 0, 7, 1};
    auto counts2 = draw_and_check(t, logits, kept, n);
    double chi2 = chi_square(counts2, expected_logprobs(logits, kept, 1.0), n);
    EXPECT_LT(chi2, 25.0);  // df = 4: p < 1e-4
}

TEST(Sampler, NaNIsNeverSampledAndPlusInfinityTakesAllTheMass) {
    Sampler s(plain(1.0f), 6);
    std::vector<float> logits = {kNaN, 0.0f, kNaN, 0.0f, -kInf, kNaN};
    auto counts = draw_and_check(s, logits, {1, 3}, 2000);
    EXPECT_GT(counts[1], 800);
    EXPECT_GT(counts[3], 800);
    std::vector<float> inf_logits = {0.0f, kInf, 100.0f, kInf, kNaN, 1.0f};
    std::map<int32_t, int> c2;
    for (int i = 0; i < 2000; ++i) {
        Sampled d = s.sample(inf_logits);
        c2[d.token]++;
        EXPECT_NEAR(d.logprob, std::log(0.5), 1e-6);
    }
    EXPECT_EQ(c2[1] + c2[3], 2000);
    EXPECT_GT(c2[1], 800);
    EXPECT_GT(c2[3], 800);
    std::vector<float> bad(6, kNaN);
    EXPECT_THROW(s.sample(bad), Error);
}

TEST(Sampler, InvalidParamsAreErrors) {
    auto with = [](auto edit) {
        SamplingParams p;
        edit(p);
        return p;
    };
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.temperature = -0.1f; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.temperature = kNaN; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.top_k = -1; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.top_p = 0.0f; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.top_p = 1.5f; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.min_p = -0.1f; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.repeat_penalty = 0.0f; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.repeat_last_n = -2; }), 4), Error);
    EXPECT_THROW(Sampler(with([](SamplingParams& p) { p.presence_penalty = kInf; }), 4), Error);
    EXPECT_THROW(Sampler(SamplingParams{}, 0), Error);
    try {
        Sampler(with([](SamplingParams& p) { p.top_p = 2.0f; }), 4);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(Sampler(SamplingParams{}, 4));
    // A history id outside the vocabulary, when a penalty reads it.
    SamplingParams pen = plain(1.0f);
    pen.repeat_penalty = 1.1f;
    Sampler s(pen, 4);
    std::vector<float> logits = {0.0f, 1.0f, 2.0f, 3.0f};
    std::vector<int32_t> bad_history = {1, 4};
    EXPECT_THROW(s.sample(logits, bad_history), Error);
    std::vector<int32_t> good_history = {1, 3};
    EXPECT_NO_THROW(s.sample(logits, good_history));
}

TEST(LogSoftmax, HelpersAgreeWithEachOther) {
    std::vector<float> logits = {1.0f, kNaN, -2.0f, 3.0f, -kInf, 0.5f};
    std::vector<float> out(logits.size());
    log_softmax(logits, out, 0.8f);
    double total = 0;
    for (float x : out) total += std::exp(static_cast<double>(x));
    EXPECT_NEAR(total, 1.0, 1e-6);
    EXPECT_EQ(out[1], -kInf);
    EXPECT_EQ(out[4], -kInf);
    for (int32_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(token_logprob(logits, i, 0.8f), out[i]);
    // By hand: log softmax at T = 1.
    double lse = std::log(std::exp(1.0) + std::exp(-2.0) + std::exp(3.0) + std::exp(0.5));
    EXPECT_NEAR(log_sum_exp(logits), lse, 1e-9);
    EXPECT_NEAR(token_logprob(logits, 3), 3.0 - lse, 1e-6);
    auto top = top_logprobs(logits, 3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].token, 3);
    EXPECT_EQ(top[1].token, 0);
    EXPECT_EQ(top[2].token, 5);
    EXPECT_NEAR(top[0].logprob, 3.0 - lse, 1e-6);
    EXPECT_EQ(top_logprobs(logits, 100).size(), logits.size());
    // Huge logits do not overflow.
    std::vector<float> big = {3e38f, 3e38f, -3e38f};
    EXPECT_NEAR(token_logprob(big, 0), std::log(0.5), 1e-6);
}

}  // namespace
}  // namespace r1
