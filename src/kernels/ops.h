// Element-wise and row-wise kernels of the transformer forward pass: pure functions over float spans.
// Each is compiled for AVX-512, AVX2+FMA and baseline x86-64 (GCC target_clones picks one at load time); the
// loops are written plainly and vectorised by the compiler. Reference versions for tests live in
// tests/kernels (double precision).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace r1 {

// e^x for x <= 0, and 0 below -87 (where float e^x turns denormal): range reduction x = n ln2 + r with
// |r| <= ln2 / 2, then Cephes' degree-6 minimax polynomial for e^r and 2^n built from bits; ~1e-7 relative
// error. The "x < -87" tests are integer compares on the bits with masks instead of selects: float compares
// may trap, and GCC then refuses to vectorise the loops calling this (std::exp would be a libm call per
// element). -inf gives 0; x must not be NaN (callers check or sanitise first). Shared by the softmaxes here
// and the sampler.
inline float exp_nonpos(float x) {
    // Negative floats order like their bits read as unsigned, reversed; +0 and positive x pass as well.
    const int32_t keep = -static_cast<int32_t>(std::bit_cast<uint32_t>(x) <= std::bit_cast<uint32_t>(-87.0f));
    const float xc =
        std::bit_cast<float>((std::bit_cast<int32_t>(x) & keep) | (std::bit_cast<int32_t>(-87.0f) & ~keep));
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
    const float n = (xc * 1.44269504088896341f + shifter) - shifter;
    const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;  // ln 2 split in two for an exact n * ln2
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    const float er = q * (r * r) + r + 1.0f;
    const float two_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
    return std::bit_cast<float>(std::bit_cast<int32_t>(er * two_n) & keep);
}

float dot_f32(const float* a, const float* b, int64_t n);
// y += a * x
void axpy_f32(float* y, float a, const float* x, int64_t n);
// y *= a
void scale_f32(float* y, float a, int64_t n);
// y += x
void add_f32(float* y, const float* x, int64_t n);

// y = x * w / sqrt(mean(x^2) + eps)          x, y, w [n]   (y may alias x)
void rms_norm(float* y, const float* x, const float* w, int64_t n, float eps);
// The same for `rows` rows with strides (in floats); parallel over rows.
void rms_norm_rows(float* y, int64_t ldy, const float* x, int64_t ldx, const float* w, int64_t rows,
                   int64_t n, float eps);

// out = silu(gate) * up = gate / (1 + exp(-gate)) * up        [n]   (SwiGLU)
void silu_mul(float* out, const float* gate, const float* up, int64_t n);

// In-place softmax of x [n] in f32 (max subtracted first). Returns the sum of exps before normalisation.
float softmax_inplace(float* x, int64_t n);
// The unnormalised half of it: x = exp(x - max x) in place; returns the sum and stores max x in *max_out
// (a partial softmax, combined with others by rescaling: flash-decoding).
float exp_shifted_inplace(float* x, int64_t n, float* max_out);

// RoPE pairing convention. Norm: (x[2i], x[2i+1]) — GPT-J, Llama in GGUF, DeepSeek. Neox: (x[i], x[i + d/2])
// — HF rotate_half, Qwen2.
enum class RopeStyle { Norm, Neox };

// Rotates the first `rope_dim` values of each of `n_heads` vectors (head_stride floats apart) by the angles
// pos * inv_freq[i], i < rope_dim/2, then scales the rotated values by `mscale` (YaRN's magnitude correction;
// 1 otherwise). cos_sin is scratch of rope_dim floats.
void rope_apply(float* x, int64_t n_heads, int64_t head_stride, int64_t rope_dim, int64_t pos,
                const float* inv_freq, RopeStyle style, float mscale, float* cos_sin);

// Causal attention of one query head over n_kv cached positions:
//   s_j = scale * q . k_j;  p = softmax(s);  out = sum_j p_j v_j
// q [d_k], k_j at k + j*k_stride [d_k], v_j at v + j*v_stride [d_v], out [d_v], scores scratch [n_kv].
void attention_head(const float* q, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                    int64_t n_kv, int64_t d_k, int64_t d_v, float scale, float* scores, float* out);

}  // namespace r1
