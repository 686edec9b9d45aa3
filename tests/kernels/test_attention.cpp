// The blocked attention kernels (kernels/attention.h) against plain double-precision loops, with strided
// rows, query counts that do and do not fill the 4-query blocks, accumulation, and causal lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

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

INSTANTIATE_TEST_SUITE_P(Levels, AttentionAtLevel,
                         ::testing::Values(SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512),
                         [](const auto& info) {
                             return std::string(info.param == SimdLevel::Avx512 ? "avx512"
                                                : info.param == SimdLevel::Avx2 ? "avx2"
                                                                                : "scalar");
                         });

}  // namespace
}  // namespace r1
