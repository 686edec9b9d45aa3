// Inline AVX-512 helpers shared by the AVX-512 kernel files (row-dot and GEMM): SIMD unpacking of weight
// blocks, FP8 conversion, a register transpose. Include it after `#pragma GCC target(...)` (every function
// here needs AVX-512 F/BW/VL); everything has internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include <cstring>

#include "kernels/simd/unpack.h"
#include "tensor/dtype.h"

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
inline void transpose16x8(const uint8_t* src, size_t stride, __m512i out[8]) {
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

// ---- 32-element block types: units of two blocks
// ------------------------------------------------------------

// Two 32-element blocks in the common form (kernels.h): symmetric types as u = value + 128.
struct PairUnit {
    __m512i u;
    __m512 S;            // lanes 0, 1: S of the two blocks
    __m512 Sexp, M8exp;  // per-lane S, and M / 8 (M = 128 S for symmetric types, -m for Q4_1 / Q5_1)
};

inline __m512 spread2(__m512 v) {  // lanes 0..7 <- v[0], lanes 8..15 <- v[1]
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), v);
}

inline __m512 two_f16(const uint8_t* p0,
                      const uint8_t* p1) {  // lanes 0, 1 = f16 values at p0, p1 (p1 may be null)
    uint16_t h0, h1 = 0;
    std::memcpy(&h0, p0, 2);
    if (p1) std::memcpy(&h1, p1, 2);
    return _mm512_cvtph_ps(
        _mm256_castsi128_si256(_mm_cvtsi32_si128(static_cast<int>(h0 | (uint32_t{h1} << 16)))));
}

// 16 nibble bytes of each block -> [lo(b0) hi(b0) lo(b1) hi(b1)] = the 64 codes in element order.
inline __m512i nibbles_pair(const uint8_t* q0, const uint8_t* q1) {
    const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q0));
    const __m128i v1 = q1 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)) : _mm_setzero_si128();
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(v0), v1, 1);
    const __m256i m = _mm256_set1_epi8(0x0f);
    const __m256i lo = _mm256_and_si256(v, m), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(lo, hi, 0x20)),
                              _mm256_permute2x128_si256(lo, hi, 0x31), 1);
}

inline uint64_t qh_pair(const uint8_t* p0, const uint8_t* p1) {
    uint32_t a, b = 0;
    std::memcpy(&a, p0, 4);
    if (p1) std::memcpy(&b, p1, 4);
    return a | (uint64_t{b} << 32);
}

// Unpacks blocks b0 and b1 (b1 == nullptr: only b0; upper lanes get zero scales).
template <DType T>
inline PairUnit unpack_pair(const uint8_t* b0, const uint8_t* b1) {
    PairUnit p;
    __m512 S, M;
    if constexpr (T == DType::Q8_0) {
        const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2));
        const __m256i hi =
            b1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + 2)) : _mm256_setzero_si256();
        p.u = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8(-128));
        S = two_f16(b0, b1);
        M = _mm512_mul_ps(S, _mm512_set1_ps(128.0f / 8));
    } else if constexpr (T == DType::Q4_0) {
        p.u = _mm512_add_epi8(nibbles_pair(b0 + 2, b1 ? b1 + 2 : nullptr), _mm512_set1_epi8(120));
        S = two_f16(b0, b1);
        M = _mm512_mul_ps(S, _mm512_set1_ps(128.0f / 8));
    } else if constexpr (T == DType::Q5_0) {
        p.u = _mm512_add_epi8(nibbles_pair(b0 + 6, b1 ? b1 + 6 : nullptr), _mm512_set1_epi8(112));
        p.u = _mm512_mask_add_epi8(p.u, qh_pair(b0 + 2, b1 ? b1 + 2 : nullptr), p.u, _mm512_set1_epi8(16));
        S = two_f16(b0, b1);
        M = _mm512_mul_ps(S, _mm512_set1_ps(128.0f / 8));
    } else if constexpr (T == DType::IQ4_NL) {
        const __m512i nib = nibbles_pair(b0 + 2, b1 ? b1 + 2 : nullptr);
        const __m128i tbl =
            _mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, static_cast<char>(118), static_cast<char>(129),
                          static_cast<char>(141), static_cast<char>(153), static_cast<char>(166),
                          static_cast<char>(181), static_cast<char>(197), static_cast<char>(217),
                          static_cast<char>(241));  // code book + 128
        p.u = _mm512_shuffle_epi8(_mm512_broadcast_i32x4(tbl), nib);
        S = two_f16(b0, b1);
        M = _mm512_mul_ps(S, _mm512_set1_ps(128.0f / 8));
    } else if constexpr (T == DType::Q4_1) {
        p.u = nibbles_pair(b0 + 4, b1 ? b1 + 4 : nullptr);
        S = two_f16(b0, b1);
        M = _mm512_mul_ps(two_f16(b0 + 2, b1 ? b1 + 2 : nullptr), _mm512_set1_ps(-1.0f / 8));
    } else {  // Q5_1
        p.u = nibbles_pair(b0 + 8, b1 ? b1 + 8 : nullptr);
        p.u = _mm512_mask_add_epi8(p.u, qh_pair(b0 + 4, b1 ? b1 + 4 : nullptr), p.u, _mm512_set1_epi8(16));
        S = two_f16(b0, b1);
        M = _mm512_mul_ps(two_f16(b0 + 2, b1 ? b1 + 2 : nullptr), _mm512_set1_ps(-1.0f / 8));
    }
    p.S = S;
    p.Sexp = spread2(S);
    p.M8exp = spread2(M);
    return p;
}

template <DType T>
constexpr bool kSym = T == DType::Q8_0 || T == DType::Q4_0 || T == DType::Q5_0 || T == DType::IQ4_NL;

// ---- K-quants: super-blocks of 256 as 4 units
// ---------------------------------------------------------------

// A K-quant super-block: u raw unsigned codes (Q6_K: 0..63, w = S (u - 32); Q3_K: value + 128), per-sub-block
// S (sub 16: 16 lanes; sub 32: lanes 8..15), the same spread to the lanes of each unit, and the offsets M
// (sub 16: 16 lanes; sub 32: lanes 0..7) with w = S u - M.
struct SuperUnit {
    __m512i u[4];
    __m512 S;
    __m512 Sexp[4];
    __m512 M;
};

inline __m512 spread_sub32(__m512 MS, int i) {  // lanes 0..7 <- MS[8 + 2i], 8..15 <- MS[8 + 2i + 1]
    const int a = 8 + 2 * i, b = 9 + 2 * i;
    return _mm512_permutexvar_ps(_mm512_set_epi32(b, b, b, b, b, b, b, b, a, a, a, a, a, a, a, a), MS);
}
inline __m512 spread_sub16(__m512 S, int i) {  // lane l <- S[4i + l/4]
    const int a = 4 * i;
    return _mm512_permutexvar_ps(_mm512_set_epi32(a + 3, a + 3, a + 3, a + 3, a + 2, a + 2, a + 2, a + 2,
                                                  a + 1, a + 1, a + 1, a + 1, a, a, a, a),
                                 S);
}

// Q4_K / Q5_K: mins and scales of the 8 sub-blocks -> lanes 0..7 = dmin*m, lanes 8..15 = d*sc. The 6-bit
// fields (see k4_scale_min) are gathered with one byte shuffle: m0..3 = s4..7 & 63, m4..7 = (s8..11 >> 4) |
// top two bits of s4..7 at bit 4; sc0..3 = s0..3 & 63, sc4..7 = (s8..11 & 15) | top two bits of s0..3 at
// bit 4.
inline __m512 k4_mins_scales(const uint8_t* blk) {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 4));  // 12 bytes used
    const __m128i A = _mm_shuffle_epi8(s, _mm_setr_epi8(4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11));
    const __m128i B =
        _mm_shuffle_epi8(s, _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 0, 1, 2, 3));
    const __m128i lo = _mm_or_si128(
        _mm_and_si128(A, _mm_setr_epi8(63, 63, 63, 63, 0, 0, 0, 0, 63, 63, 63, 63, 15, 15, 15, 15)),
        _mm_and_si128(_mm_srli_epi16(A, 4),
                      _mm_setr_epi8(0, 0, 0, 0, 15, 15, 15, 15, 0, 0, 0, 0, 0, 0, 0, 0)));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(B, 2), _mm_set1_epi8(0x30));
    const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_or_si128(lo, hi)));
    uint32_t dd;
    std::memcpy(&dd, blk, 4);  // d, dmin
    const __m512 f = _mm512_cvtph_ps(_mm256_castsi128_si256(_mm_cvtsi32_si128(static_cast<int>(dd))));
    return _mm512_mul_ps(
        v, _mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), f));
}

template <DType T>
inline void unpack_super(const uint8_t* blk, SuperUnit* su) {
    if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
        const __m512 MS = k4_mins_scales(blk);
        const uint8_t* qs = blk + (T == DType::Q4_K ? 16 : 48);
        const __m512i m = _mm512_set1_epi8(0x0f);
        __m256i qh = _mm256_setzero_si256();
        if constexpr (T == DType::Q5_K) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16));
        const __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1);
        // chunk c (32 bytes of qs) = low nibbles (sub-block 2c) then high nibbles (2c+1): broadcast the 32
        // bytes to both halves (a load, no shuffle) and shift the upper half by 4
        const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
        for (int c = 0; c < 4; c++) {
            const __m512i v =
                _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c)));
            __m512i uc = _mm512_and_si512(_mm512_srlv_epi16(v, shift), m);
            if constexpr (T == DType::Q5_K) {
                const __m512i bit =
                    _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * c))),
                                       _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))), 1);
                uc = _mm512_mask_add_epi8(uc, _mm512_test_epi8_mask(qh2, bit), uc, _mm512_set1_epi8(16));
            }
            su->u[c] = uc;
        }
        for (int i = 0; i < 4; i++) su->Sexp[i] = spread_sub32(MS, i);
        su->S = MS;
        su->M = MS;
    } else if constexpr (T == DType::Q6_K) {
        const uint8_t* ql = blk;
        const uint8_t* qh = blk + 128;
        uint16_t hd;
        std::memcpy(&hd, blk + 208, 2);
        const __m512i m = _mm512_set1_epi8(0x0f), three = _mm512_set1_epi8(0x30);
        for (int h = 0; h < 2; h++) {
            const __m512i v = _mm512_loadu_si512(ql + 64 * h);
            const __m256i hh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * h));
            const __m512i H = _mm512_inserti64x4(_mm512_castsi256_si512(hh), hh, 1);
            // elements 0..63 of the half: high bits at qh >> 0 (lanes 0..31) and >> 2 (lanes 32..63), to bit
            // 4
            const __m512i h01 = _mm512_and_si512(
                _mm512_sllv_epi16(H, _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1)),
                three);
            const __m512i h23 = _mm512_and_si512(
                _mm512_srlv_epi16(H, _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1)),
                three);
            su->u[2 * h] = _mm512_or_si512(_mm512_and_si512(v, m), h01);
            su->u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), m), h23);
        }
        const __m512 d = _mm512_set1_ps(_cvtsh_ss(hd));
        const __m512 S = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)))),
                                       d);
        for (int i = 0; i < 4; i++) su->Sexp[i] = spread_sub16(S, i);
        su->S = S;
        su->M = _mm512_mul_ps(S, _mm512_set1_ps(32.0f));
    } else {  // Q2_K, Q3_K: scalar unpack
        alignas(64) uint8_t u[256];
        alignas(64) float S[16], M[16];
        unpack_block(T, blk, u, S, M);
        for (int i = 0; i < 4; i++) su->u[i] = _mm512_load_si512(u + 64 * i);
        const __m512 Sv = _mm512_load_ps(S);
        for (int i = 0; i < 4; i++) su->Sexp[i] = spread_sub16(Sv, i);
        su->S = Sv;
        su->M = T == DType::Q3_K ? _mm512_mul_ps(Sv, _mm512_set1_ps(128.0f)) : _mm512_load_ps(M);
    }
}

}  // namespace
}  // namespace r1::simd::avx512
