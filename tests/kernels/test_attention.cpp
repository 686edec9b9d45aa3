// The blocked attention kernels (kernels/attention.h) against plain double-precision loops, with strided
// rows, query counts that do and do not fill the 4-query blocks, accumulation, and causal lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/float16.h"
#include "base/rng.h"
#include "kernels/attention.h"
#include "kernels/simd/cpu_features.h"

namespace r1 {
namespace {

std::vector<float> randv(int64_t n, uint64_t seed) {
    Rng r(seed);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = r.normal();
    return v;
}

// At every level: the portable kernels (scalar, AVX2) and the register-blocked AVX-512 ones.
class AttentionAtLevel : public ::testing::TestWithParam<SimdLevel> {
  protected:
    void SetUp() override {
        if (simd_level_supported() < GetParam()) GTEST_SKIP() << "level not supported by this CPU";
        saved_ = simd_level();
        set_simd_level(GetParam());
    }
    void TearDown() override { set_simd_level(saved_); }
    SimdLevel saved_ = SimdLevel::Scalar;
};

TEST_P(AttentionAtLevel, ScoresSoftmaxAndWeightedSumMatchPlainLoops) {
    // d / dv: below one vector, vector tails, whole 64-column chunks with tails, MLA's 512 latent; nk past
    // the 4-key blocks and the 64-key blocks of the weighted sum
    struct Dims {
        int64_t d, dv;
    };
    for (const Dims dims : {Dims{12, 20}, Dims{24, 20}, Dims{64, 100}, Dims{132, 80}, Dims{512, 512}})
        for (int64_t nq : {1, 3, 4, 7, 9}) {
            for (int64_t nk : {1, 5, 33, 70, 130}) {
                const int64_t d = dims.d, dv = dims.dv, ldq = d + 16, ldk = d + 26, ldv = dv + 10,
                              lds = nk + 3, ldo = dv + 6;
                const auto q = randv(nq * ldq, 1), k = randv(nk * ldk, 2), v = randv(nk * ldv, 3);
                const float scale =
                    0.37f * std::sqrt(24.0f / static_cast<float>(d));               // scores of moderate size
                const double slack = std::max(1.0, static_cast<double>(d) / 24.0);  // float sums over d terms
                std::vector<float> s(static_cast<size_t>(nq * lds), 99.0f),
                    o(static_cast<size_t>(nq * ldo), -5.0f);
                std::vector<int64_t> len(static_cast<size_t>(nq));
                for (int64_t t = 0; t < nq; t++) len[t] = 1 + (t * 7) % nk;  // each query sees a prefix
                attn_scores(q.data(), ldq, nq, k.data(), ldk, nk, d, scale, s.data(), lds, false);
                // accumulate a second part over the last 4 dims, as MLA adds its rope half
                attn_scores(q.data() + d, ldq, nq, k.data() + d, ldk, nk, 4, scale, s.data(), lds, true);
                attn_softmax_rows(s.data(), lds, nq, len.data(), nk);
                attn_weighted_sum(s.data(), lds, nq, nk, v.data(), ldv, dv, o.data(), ldo);
                for (int64_t t = 0; t < nq; t++) {
                    std::vector<double> p(static_cast<size_t>(nk), 0.0);
                    double mx = -1e300, sum = 0;
                    for (int64_t j = 0; j < len[t]; j++) {
                        double dot = 0;
                        for (int64_t i = 0; i < d + 4; i++)
                            dot += static_cast<double>(q[t * ldq + i]) * k[j * ldk + i];
                        p[j] = scale * dot;
                        mx = std::max(mx, p[j]);
                    }
                    for (int64_t j = 0; j < len[t]; j++) sum += (p[j] = std::exp(p[j] - mx));
                    for (int64_t j = 0; j < nk; j++) {
                        const double want = j < len[t] ? p[j] / sum : 0.0;
                        EXPECT_NEAR(s[t * lds + j], want, 1e-6 * slack)
                            << d << " " << nq << " " << nk << " " << t << " " << j;
                    }
                    for (int64_t i = 0; i < dv; i++) {
                        double want = 0;
                        for (int64_t j = 0; j < len[t]; j++) want += p[j] / sum * v[j * ldv + i];
                        EXPECT_NEAR(o[t * ldo + i], want, 1e-5 * slack)
                            << d << " " << dv << " " << nq << " " << nk;
                    }
                    for (int64_t i = dv; i < ldo; i++)
                        EXPECT_EQ(o[t * ldo + i], -5.0f);  // stride padding untouched
                }
            }
        }
}

// A score must not depend on which other queries and keys its call had (MLA groups heads by thread count
// and splits keys into blocks): each query alone, over a sub-range of the keys, gives the same bits.
TEST_P(AttentionAtLevel, ScoresDoNotDependOnTheOtherQueriesAndKeysOfTheCall) {
    const int64_t d = 576, nq = 7, nk = 70, j0 = 3;
    const auto q = randv(nq * d, 4), k = randv(nk * d, 5);
    std::vector<float> all(static_cast<size_t>(nq * nk)), one(static_cast<size_t>(nk - j0));
    attn_scores(q.data(), d, nq, k.data(), d, nk, d, 0.1f, all.data(), nk, false);
    for (int64_t t = 0; t < nq; t++) {
        attn_scores(q.data() + t * d, d, 1, k.data() + j0 * d, d, nk - j0, d, 0.1f, one.data(), nk - j0,
                    false);
        for (int64_t j = j0; j < nk; j++)
            ASSERT_EQ(one[static_cast<size_t>(j - j0)], all[static_cast<size_t>(t * nk + j)])
                << t << " " << j;
    }
}

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); i++) h[i] = f32_to_bf16(v[i]);
    return h;
}

// bf16 caches: the products of the bf16 values exactly (up to float summation), and the weighted sum within
// the rounding of the weights to bf16 (2^-8 relative, at the AVX512_BF16 level).
TEST_P(AttentionAtLevel, Bf16ScoresAndWeightedSumMatchPlainLoops) {
    struct Dims {
        int64_t d, dv;
    };
    for (const Dims dims : {Dims{12, 20}, Dims{31, 33}, Dims{64, 100}, Dims{132, 80}, Dims{576, 512}})
        for (int64_t nq : {1, 2, 3, 4, 5, 6, 7, 13, 16})
            for (int64_t nk : {1, 5, 33, 70, 131}) {
                const int64_t d = dims.d, dv = dims.dv, ldq = d + 16, ldk = d + 26, ldv = dv + 10,
                              lds = nk + 3, ldo = dv + 6;
                const auto q = to_bf16(randv(nq * ldq, 1)), k = to_bf16(randv(nk * ldk, 2)),
                           v = to_bf16(randv(nk * ldv, 3));
                const auto p = randv(nq * lds, 6);
                const float scale = 0.37f * std::sqrt(24.0f / static_cast<float>(d));
                const double slack = std::max(1.0, static_cast<double>(d) / 24.0);
                std::vector<float> s(static_cast<size_t>(nq * lds), 99.0f),
                    o(static_cast<size_t>(nq * ldo), -5.0f);
                attn_scores_bf16(q.data(), ldq, nq, k.data(), ldk, nk, d, scale, s.data(), lds, false);
                attn_scores_bf16(q.data() + d, ldq, nq, k.data() + d, ldk, nk, 4, scale, s.data(), lds, true);
                attn_weighted_sum_bf16(p.data(), lds, nq, nk, v.data(), ldv, dv, o.data(), ldo);
                for (int64_t t = 0; t < nq; t++) {
                    for (int64_t j = 0; j < nk; j++) {
                        double dot = 0;
                        for (int64_t i = 0; i < d + 4; i++)
                            dot += static_cast<double>(bf16_to_f32(q[t * ldq + i])) *
                                   bf16_to_f32(k[j * ldk + i]);
                        ASSERT_NEAR(s[t * lds + j], scale * dot, 2e-6 * slack) << d << " " << nq << " " << nk;
                    }
                    for (int64_t i = 0; i < dv; i++) {
                        double want = 0, mag = 0;
                        for (int64_t j = 0; j < nk; j++) {
                            const double x =
                                static_cast<double>(p[t * lds + j]) * bf16_to_f32(v[j * ldv + i]);
                            want += x;
                            mag += std::fabs(x);
                        }
                        ASSERT_NEAR(o[t * ldo + i], want, mag / 256 + 1e-5 * slack)
                            << d << " " << dv << " " << nq << " " << nk;
                    }
                    for (int64_t i = dv; i < ldo; i++) ASSERT_EQ(o[t * ldo + i], -5.0f);
                }
            }
}

// As for f32: each query's scores and weighted sum come out the same whatever else shares the call.
TEST_P(AttentionAtLevel, Bf16ResultsDoNotDependOnTheOtherQueriesOfTheCall) {
    const int64_t d = 576, dv = 512, nq = 7, nk = 70, j0 = 3;
    const auto q = to_bf16(randv(nq * d, 4)), k = to_bf16(randv(nk * d, 5));
    const auto p = randv(nq * nk, 6);
    std::vector<float> all(static_cast<size_t>(nq * nk)), one(static_cast<size_t>(nk - j0));
    std::vector<float> oall(static_cast<size_t>(nq * dv)), oone(static_cast<size_t>(dv));
    attn_scores_bf16(q.data(), d, nq, k.data(), d, nk, d, 0.1f, all.data(), nk, false);
    attn_weighted_sum_bf16(p.data(), nk, nq, nk, k.data(), d, dv, oall.data(), dv);
    for (int64_t t = 0; t < nq; t++) {
        attn_scores_bf16(q.data() + t * d, d, 1, k.data() + j0 * d, d, nk - j0, d, 0.1f, one.data(), nk - j0,
                         false);
        for (int64_t j = j0; j < nk; j++)
            ASSERT_EQ(one[static_cast<size_t>(j - j0)], all[static_cast<size_t>(t * nk + j)])
                << t << " " << j;
        attn_weighted_sum_bf16(p.data() + t * nk, nk, 1, nk, k.data(), d, dv, oone.data(), dv);
        for (int64_t i = 0; i < dv; i++)
            ASSERT_EQ(oone[static_cast<size_t>(i)], oall[static_cast<size_t>(t * dv + i)]) << t << " " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Levels, AttentionAtLevel,
                         ::testing::Values(SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512),
                         [](const auto& info) {
                             return std::string(info.param == SimdLevel::Avx512 ? "avx512"
                                                : info.param == SimdLevel::Avx2 ? "avx2"
                                                                                : "scalar");
                         });

}  // namespace
}  // namespace r1
