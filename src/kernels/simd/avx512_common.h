// Inline AVX-512 helpers shared by the AVX-512 kernel files: FP8 conversion, f32-family loads, a 16 x 8 dword
// register transpose, a 16-vector horizontal sum. Include it after `#pragma GCC target(...)` (every function
// here needs AVX-512 F/BW/VL); everything has internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "tensor/dtype.h"

// Hot helpers must inline into the kernels: a call would spill the vector registers around it.
#define R1_AVX512_INLINE inline __attribute__((always_inline))

namespace r1::simd::avx512 {
namespace {

// 16 FP8 E4M3 codes -> f32 without a table: the 7 magnitude bits shifted into an f16 (exponent bias 15
// instead of 7, so scale by 2^8; subnormals map onto f16 subnormals exactly); S.1111.111 is NaN.
inline __m512 fp8x16_to_f32(__m128i b) {
    const __m256i v = _mm256_cvtepu8_epi16(b);
    const __m256i h = _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(v, _mm256_set1_epi16(0x7f)), 7),
                                      _mm256_slli_epi16(_mm256_and_si256(v, _mm256_set1_epi16(0x80)), 8));
    const __m512 f = _mm512_mul_ps(_mm512_cvtph_ps(h), _mm512_set1_ps(256.0f));
    const __mmask16 nan =
        _mm256_cmpeq_epi16_mask(_mm256_and_si256(v, _mm256_set1_epi16(0x7f)), _mm256_set1_epi16(0x7f));
    return _mm512_mask_mov_ps(f, nan, _mm512_set1_ps(__builtin_nanf("")));
}

// 16 weights of an f32-family row starting at element k (lanes outside m read as 0).
template <DType T>
inline __m512 load16_f(const uint8_t* row, int64_t k, __mmask16 m) {
    if constexpr (T == DType::F32) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
    } else if constexpr (T == DType::F16) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k));
    } else if constexpr (T == DType::BF16) {
        const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
        return _mm512_maskz_mov_ps(m, fp8x16_to_f32(_mm_maskz_loadu_epi8(m, row + k)));
    }
}

// Transposes 16 rows x 8 dwords (row i at src + i * stride, 32 bytes each) into out[j] = dword j of rows
// 0..15.
R1_AVX512_INLINE void transpose16x8(const uint8_t* src, size_t stride, __m512i out[8]) {
    __m512i z[8];
    for (int i = 0; i < 8; i++)
        z[i] = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i * stride))),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + (i + 8) * stride)), 1);
    // 4x4 dword transposes inside each 128-bit lane (rows 0-3 / 4-7 in the low half, 8-11 / 12-15 in the
    // high)
    __m512i t[8], u[8];
    for (int g = 0; g < 2; g++) {
        const int o = 4 * g;
        t[o + 0] = _mm512_unpacklo_epi32(z[o + 0], z[o + 1]);
        t[o + 1] = _mm512_unpackhi_epi32(z[o + 0], z[o + 1]);
        t[o + 2] = _mm512_unpacklo_epi32(z[o + 2], z[o + 3]);
        t[o + 3] = _mm512_unpackhi_epi32(z[o + 2], z[o + 3]);
        u[o + 0] = _mm512_unpacklo_epi64(t[o + 0], t[o + 2]);  // dword 0 (lane 0), 4 (lane 1)
        u[o + 1] = _mm512_unpackhi_epi64(t[o + 0], t[o + 2]);  // 1, 5
        u[o + 2] = _mm512_unpacklo_epi64(t[o + 1], t[o + 3]);  // 2, 6
        u[o + 3] = _mm512_unpackhi_epi64(t[o + 1], t[o + 3]);  // 3, 7
    }
    // lanes of u[j] (rows 0-3) and u[j+4] (rows 4-7): [d_j rows0-3 | d_j+4 rows0-3 | d_j rows8-11 | d_j+4
    // rows8-11]
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13),
                  hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int j = 0; j < 4; j++) {
        out[j] = _mm512_permutex2var_epi64(u[j], lo, u[j + 4]);
        out[j + 4] = _mm512_permutex2var_epi64(u[j], hi, u[j + 4]);
    }
}

// r[4 i + j] = the sum of the 16 lanes of v[4 i + j]: 15 adds and 30 shuffles for 16 sums (instead of a
// 4-step reduction each).
R1_AVX512_INLINE __m512 hsum16(const __m512 v[16]) {
    __m512 u[8], w[4];
    for (int i = 0; i < 8; i++)  // per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] of a = v[2i], b = v[2i+1]
        u[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                             _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {  // per lane: the lane's partial sums of v[4i .. 4i+3]
        const __m512d a = _mm512_castps_pd(u[2 * i]), b = _mm512_castps_pd(u[2 * i + 1]);
        w[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    // add the four lanes: lane i of the result gathers w[i]'s lanes
    const __m512 y01 =
        _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x88), _mm512_shuffle_f32x4(w[0], w[1], 0xdd));
    const __m512 y23 =
        _mm512_add_ps(_mm512_shuffle_f32x4(w[2], w[3], 0x88), _mm512_shuffle_f32x4(w[2], w[3], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(y01, y23, 0x88), _mm512_shuffle_f32x4(y01, y23, 0xdd));
}

}  // namespace
}  // namespace r1::simd::avx512
