// The row/element kernels (kernels/ops.h) against plain double-precision references written from the
// formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/rng.h"
#include "kernels/ops.h"

namespace r1 {
namespace {

std::vector<float> randv(int64_t n, uint64_t seed, float scale = 1.0f) {
    Rng r(seed);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = scale * r.normal();
    return v;
}

const int64_t kSizes[] = {1, 7, 31, 33, 128, 4097};

TEST(Ops, DotAxpyScaleAdd) {
    for (int64_t n : kSizes) {
        auto a = randv(n, 1), b = randv(n, 2);
        double ref = 0, mag = 0;
        for (int64_t i = 0; i < n; i++)
            ref += static_cast<double>(a[i]) * b[i], mag += std::fabs(a[i] * b[i]);
        EXPECT_NEAR(dot_f32(a.data(), b.data(), n), ref, 1e-6 * mag + 1e-7) << n;
        auto y = b;
        axpy_f32(y.data(), 0.5f, a.data(), n);
        for (int64_t i = 0; i < n; i++) EXPECT_FLOAT_EQ(y[i], b[i] + 0.5f * a[i]);
        y = b;
        scale_f32(y.data(), -2.0f, n);
        for (int64_t i = 0; i < n; i++) EXPECT_FLOAT_EQ(y[i], -2.0f * b[i]);
        y = b;
        add_f32(y.data(), a.data(), n);
        for (int64_t i = 0; i < n; i++) EXPECT_FLOAT_EQ(y[i], a[i] + b[i]);
    }
}

TEST(Ops, RmsNorm) {
    for (int64_t n : kSizes) {
        auto x = randv(n, 3, 3.0f), w = randv(n, 4);
        std::vector<float> y(static_cast<size_t>(n));
        rms_norm(y.data(), x.data(), w.data(), n, 1e-6f);
        double ss = 0;
        for (float v : x) ss += static_cast<double>(v) * v;
        const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + 1e-6);
        for (int64_t i = 0; i < n; i++)
            EXPECT_NEAR(y[i], x[i] * inv * w[i], 1e-5 * (1 + std::fabs(x[i] * inv * w[i])));
        // in place
        rms_norm(x.data(), x.data(), w.data(), n, 1e-6f);
        for (int64_t i = 0; i < n; i++) EXPECT_FLOAT_EQ(x[i], y[i]);
    }
}

TEST(Ops, SiluMulAndSoftmax) {
    for (int64_t n : kSizes) {
        auto g = randv(n, 5, 4.0f), u = randv(n, 6);
        std::vector<float> out(static_cast<size_t>(n));
        silu_mul(out.data(), g.data(), u.data(), n);
        for (int64_t i = 0; i < n; i++) {
            const double ref = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
            EXPECT_NEAR(out[i], ref, 1e-5 * (1 + std::fabs(ref)));
        }
        auto x = randv(n, 7, 10.0f);
        auto p = x;
        softmax_inplace(p.data(), n);
        double mx = -1e300, sum = 0;
        for (float v : x) mx = std::max(mx, static_cast<double>(v));
        for (float v : x) sum += std::exp(v - mx);
        for (int64_t i = 0; i < n; i++) EXPECT_NEAR(p[i], std::exp(x[i] - mx) / sum, 1e-6);
        // the unnormalised half: exp(x - max), the max and the sum
        auto e = x;
        float emax = 0;
        const float esum = exp_shifted_inplace(e.data(), n, &emax);
        EXPECT_EQ(emax, static_cast<float>(mx));
        EXPECT_NEAR(esum, sum, 1e-5 * sum);
        for (int64_t i = 0; i < n; i++) EXPECT_NEAR(e[i], std::exp(x[i] - mx), 1e-6);
    }
    // silu at the ends of the range (both branches of the vectorised sigmoid) and at +-inf and NaN
    {
        const std::vector<float> g = {-200.0f, -87.5f,   -30.0f,    -1e-3f, -0.0f, 0.0f, 1e-3f, 30.0f, 88.0f,
                                      200.0f,  INFINITY, -INFINITY, NAN,    -NAN,  3.0f, -3.0f, 0.5f};
        const std::vector<float> u(g.size(), 1.5f);
        std::vector<float> out(g.size());
        silu_mul(out.data(), g.data(), u.data(), static_cast<int64_t>(g.size()));
        for (size_t i = 0; i < g.size(); i++) {
            const double gd = g[i], ref = gd / (1.0 + std::exp(-gd)) * 1.5;
            if (std::isnan(ref))
                EXPECT_TRUE(std::isnan(out[i])) << g[i];
            else if (std::isinf(ref))
                EXPECT_EQ(out[i], ref) << g[i];
            else
                EXPECT_NEAR(out[i], ref, 1e-6 * (1 + std::fabs(ref))) << g[i];
        }
    }
    // -inf entries get probability 0; a NaN poisons the row rather than disappearing.
    std::vector<float> m = {0.0f, -INFINITY, 1.0f};
    softmax_inplace(m.data(), 3);
    EXPECT_EQ(m[1], 0.0f);
    EXPECT_NEAR(m[0] + m[2], 1.0f, 1e-6);
    // NaN of either sign, or +inf, poisons the whole row; a long row takes the vector path
    for (float poison : {NAN, -NAN, INFINITY}) {
        std::vector<float> bad(100, 0.5f);
        bad[37] = poison;
        softmax_inplace(bad.data(), static_cast<int64_t>(bad.size()));
        for (float v : bad) EXPECT_TRUE(std::isnan(v)) << poison;
    }
}

TEST(Ops, RopeNormAndNeoxRotatePairs) {
    const int64_t heads = 3, hd = 16, rope_dim = 12, pos = 1234;
    std::vector<float> inv_freq(rope_dim / 2);
    for (int64_t i = 0; i < rope_dim / 2; i++)
        inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / rope_dim));
    std::vector<float> cs(rope_dim);
    for (RopeStyle style : {RopeStyle::Norm, RopeStyle::Neox}) {
        auto x = randv(heads * hd, 8);
        auto y = x;
        rope_apply(y.data(), heads, hd, rope_dim, pos, inv_freq.data(), style, 0.5f, cs.data());
        for (int64_t h = 0; h < heads; h++) {
            for (int64_t i = 0; i < rope_dim / 2; i++) {
                const int64_t a = style == RopeStyle::Norm ? 2 * i : i;
                const int64_t b = style == RopeStyle::Norm ? 2 * i + 1 : i + rope_dim / 2;
                const double ang = static_cast<double>(pos) * inv_freq[i];
                const double xa = x[h * hd + a], xb = x[h * hd + b];
                EXPECT_NEAR(y[h * hd + a], 0.5 * (xa * std::cos(ang) - xb * std::sin(ang)), 1e-5);
                EXPECT_NEAR(y[h * hd + b], 0.5 * (xa * std::sin(ang) + xb * std::cos(ang)), 1e-5);
            }
            for (int64_t i = rope_dim; i < hd; i++) EXPECT_EQ(y[h * hd + i], x[h * hd + i]);  // past rope_dim
        }
    }
}

TEST(Ops, AttentionHeadMatchesSoftmaxWeightedSum) {
    const int64_t dk = 24, dv = 16, stride_k = 40, stride_v = 20;
    for (int64_t n_kv : {1, 5, 130}) {
        auto q = randv(dk, 9), k = randv(n_kv * stride_k, 10), v = randv(n_kv * stride_v, 11);
        std::vector<float> scores(static_cast<size_t>(n_kv)), out(dv);
        const float scale = 0.3f;
        attention_head(q.data(), k.data(), stride_k, v.data(), stride_v, n_kv, dk, dv, scale, scores.data(),
                       out.data());
        std::vector<double> s(static_cast<size_t>(n_kv));
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < n_kv; j++) {
            double d = 0;
            for (int64_t i = 0; i < dk; i++) d += static_cast<double>(q[i]) * k[j * stride_k + i];
            s[j] = scale * d;
            mx = std::max(mx, s[j]);
        }
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int64_t i = 0; i < dv; i++) {
            double ref = 0;
            for (int64_t j = 0; j < n_kv; j++) ref += s[j] / sum * v[j * stride_v + i];
            EXPECT_NEAR(out[i], ref, 1e-5) << n_kv << " " << i;
        }
    }
}

}  // namespace
}  // namespace r1
