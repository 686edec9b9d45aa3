#include "kernels/ops.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "base/parallel.h"

// target_clones: one copy per ISA, chosen once by the dynamic loader (ifunc). Loops below use
// `omp simd reduction` so the compiler may reorder the float sums (what makes them vectorise).
#define R1_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))

namespace r1 {

R1_CLONES float dot_f32(const float* a, const float* b, int64_t n) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

R1_CLONES void axpy_f32(float* y, float a, const float* x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

R1_CLONES void scale_f32(float* y, float a, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] *= a;
}

R1_CLONES void add_f32(float* y, const float* x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

R1_CLONES void rms_norm(float* y, const float* x, const float* w, int64_t n, float eps) {
    float ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * inv * w[i];
}

void rms_norm_rows(float* y, int64_t ldy, const float* x, int64_t ldx, const float* w, int64_t rows,
                   int64_t n, float eps) {
    parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; r++) rms_norm(y + r * ldy, x + r * ldx, w, n, eps);
        },
        4);
}

R1_CLONES void silu_mul(float* out, const float* gate, const float* up, int64_t n) {
    // sigmoid(g) from e = exp(-|g|) in (0, 1], which exp_nonpos computes in vector registers (std::exp
    // is a libm call per element): 1 / (1 + e) for g >= 0, e / (1 + e) below. NaN g gives e = 0 and a NaN
    // product, as std::exp would.
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        const float e = exp_nonpos(-std::fabs(g));
        out[i] = g * ((g >= 0.0f ? 1.0f : e) / (1.0f + e)) * up[i];
    }
}

R1_CLONES float exp_shifted_inplace(float* x, int64_t n, float* max_out) {
    // The max in 16 independent lanes, folded at the end: GCC 12 does not vectorise a float max reduction
    // (NaN makes its order matter), not even under `omp simd reduction(max)`, but does vectorise 16
    // elementwise maxima under `omp simd` (checked in the disassembly: vmaxps). Rows with NaN are decided
    // by the test below anyway.
    float lane[16];
    std::fill(lane, lane + 16, -std::numeric_limits<float>::infinity());
    int64_t i0 = 0;
    for (; i0 + 16 <= n; i0 += 16)
#pragma omp simd
        for (int j = 0; j < 16; j++) lane[j] = x[i0 + j] > lane[j] ? x[i0 + j] : lane[j];
    for (int64_t i = i0; i < n; i++) lane[i - i0] = x[i] > lane[i - i0] ? x[i] : lane[i - i0];
    float mx = lane[0];
    for (int j = 1; j < 16; j++) mx = lane[j] > mx ? lane[j] : mx;
    // NaN or +inf anywhere poisons the row (as std::exp would): flagged with integer tests, which vectorise
    int32_t bad = 0;
    float sum = 0;
#pragma omp simd reduction(+ : sum) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        const int32_t bits = std::bit_cast<int32_t>(x[i]);
        bad |=
            static_cast<int32_t>((bits & 0x7fffffff) > 0x7f800000) | static_cast<int32_t>(bits == 0x7f800000);
        // (x - max is NaN only for NaN, +inf or an all -inf row; exp_nonpos must not see NaN: use 0)
        const int32_t d = std::bit_cast<int32_t>(x[i] - mx);
        const float e =
            exp_nonpos(std::bit_cast<float>(d & -static_cast<int32_t>((d & 0x7fffffff) <= 0x7f800000)));
        x[i] = e;
        sum += e;
    }
    *max_out = mx;
    if (bad) {
        std::fill(x, x + n, std::numeric_limits<float>::quiet_NaN());
        return std::numeric_limits<float>::quiet_NaN();
    }
    return sum;
}

R1_CLONES float softmax_inplace(float* x, int64_t n) {
    float mx;
    const float sum = exp_shifted_inplace(x, n, &mx);
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
    return sum;
}

void rope_apply(float* x, int64_t n_heads, int64_t head_stride, int64_t rope_dim, int64_t pos,
                const float* inv_freq, RopeStyle style, float mscale, float* cos_sin) {
    const int64_t half = rope_dim / 2;
    float* cs = cos_sin;         // [half]
    float* sn = cos_sin + half;  // [half]
    for (int64_t i = 0; i < half; i++) {
        // The angle in double: pos * theta_i loses no precision at long positions.
        double a = static_cast<double>(pos) * static_cast<double>(inv_freq[i]);
        cs[i] = static_cast<float>(std::cos(a)) * mscale;
        sn[i] = static_cast<float>(std::sin(a)) * mscale;
    }
    for (int64_t h = 0; h < n_heads; h++) {
        float* v = x + h * head_stride;
        if (style == RopeStyle::Norm) {
            for (int64_t i = 0; i < half; i++) {
                float a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * cs[i] - b * sn[i];
                v[2 * i + 1] = a * sn[i] + b * cs[i];
            }
        } else {
            for (int64_t i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * cs[i] - b * sn[i];
                v[i + half] = a * sn[i] + b * cs[i];
            }
        }
    }
}

void attention_head(const float* q, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                    int64_t n_kv, int64_t d_k, int64_t d_v, float scale, float* scores, float* out) {
    for (int64_t j = 0; j < n_kv; j++) scores[j] = scale * dot_f32(q, k + j * k_stride, d_k);
    softmax_inplace(scores, n_kv);
    for (int64_t i = 0; i < d_v; i++) out[i] = 0;
    for (int64_t j = 0; j < n_kv; j++) axpy_f32(out, scores[j], v + j * v_stride, d_v);
}

}  // namespace r1
