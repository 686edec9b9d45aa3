// AVX-512 activation quantisation into the A8 / K8 partner formats (layouts and ggml's rounding rules in
// kernels.h), bit-identical to the scalar version; the block max is taken over the bit patterns of |x| so NaN
// and Inf survive into d.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/simd/kernels.h"

// GCC 12 warns about the deliberately undefined inputs inside its own AVX-512 reduction intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,f16c,avx2,bmi,bmi2")

namespace r1::simd::avx512 {
namespace {

inline __m512i abs_bits(const float* x) {
    return _mm512_and_si512(_mm512_loadu_si512(x), _mm512_set1_epi32(0x7fffffff));
}

inline float bits_to_float(uint32_t b) {
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
}

inline float round_f16(float x) {
    return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}

// 16 floats -> 16 int32 (round to even; NaN/Inf times a zero scale give 0x80000000, saturated to -128 below).
inline __m512i quant16(const float* x, __m512 id) {
    return _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id));
}

// Per-lane results of 4 blocks (a, b, c, d: 16 lanes each) reduced together: each 128-bit lane of the result
// holds the reduction of one block (a, b, c, d) in all 4 positions. 13 ops instead of 4 horizontal
// reductions.
enum class Reduce { Max, Add };

template <Reduce R>
inline __m512i op2(__m512i u, __m512i v) {
    return R == Reduce::Max ? _mm512_max_epu32(u, v) : _mm512_add_epi32(u, v);
}

template <Reduce R>
inline __m512i reduce4(__m512i a, __m512i b, __m512i c, __m512i d) {
    constexpr auto op = op2<R>;
    const __m512i ab = op(_mm512_shuffle_i64x2(a, b, 0x44), _mm512_shuffle_i64x2(a, b, 0xee));
    const __m512i cd = op(_mm512_shuffle_i64x2(c, d, 0x44), _mm512_shuffle_i64x2(c, d, 0xee));
    __m512i r = op(_mm512_shuffle_i64x2(ab, cd, 0x88), _mm512_shuffle_i64x2(ab, cd, 0xdd));
    r = op(r, _mm512_shuffle_epi32(r, _MM_PERM_BADC));
    return op(r, _mm512_shuffle_epi32(r, _MM_PERM_CDAB));
}

// One block of 32 with known inverse scale: stores 32 int8 and returns their int32 lanes summed pairwise
// (16 lanes whose total is the block sum).
inline __m512i quant32(const float* x, __m512 id, int8_t* q) {
    const __m512i i0 = quant16(x, id), i1 = quant16(x + 16, id);
    const __m128i q0 = _mm512_cvtsepi32_epi8(i0), q1 = _mm512_cvtsepi32_epi8(i1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), q0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), q1);
    return _mm512_add_epi32(_mm512_cvtepi8_epi32(q0), _mm512_cvtepi8_epi32(q1));  // sums of the stored bytes
}

}  // namespace

void quant_a8(const float* x, int64_t K, uint8_t* dst) {
    const A8Layout L(K);
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + L.off_d);
    auto* sum = reinterpret_cast<int32_t*>(dst + L.off_sum);
    auto* nbias = reinterpret_cast<int32_t*>(dst + L.off_nbias);
    auto* dsum = reinterpret_cast<float*>(dst + L.off_dsum);
    int64_t b = 0;
    for (; b + 4 <= L.nb; b += 4) {  // 4 blocks at a time: the horizontal reductions are shared
        const float* xb = x + 32 * b;
        __m512i m[4];
        for (int i = 0; i < 4; i++)
            m[i] = _mm512_max_epu32(abs_bits(xb + 32 * i), abs_bits(xb + 32 * i + 16));
        alignas(64) uint32_t mx[16];
        _mm512_store_si512(mx, reduce4<Reduce::Max>(m[0], m[1], m[2], m[3]));
        __m512i s[4];
        float d32[4];
        for (int i = 0; i < 4; i++) {
            const float amax = bits_to_float(mx[4 * i]);
            d32[i] = amax / 127.0f;
            d[b + i] = round_f16(d32[i]);
            s[i] = quant32(xb + 32 * i, _mm512_set1_ps(act_inv_scale(amax)), q + 32 * (b + i));
        }
        alignas(64) int32_t sm[16];
        _mm512_store_si512(sm, reduce4<Reduce::Add>(s[0], s[1], s[2], s[3]));
        for (int i = 0; i < 4; i++) {
            sum[b + i] = sm[4 * i];
            nbias[b + i] = -128 * sm[4 * i];
            dsum[b + i] = round_f16(d32[i] * static_cast<float>(sm[4 * i]));
        }
    }
    for (; b < L.nb; b++) {
        const float* xb = x + 32 * b;
        const float amax =
            bits_to_float(_mm512_reduce_max_epu32(_mm512_max_epu32(abs_bits(xb), abs_bits(xb + 16))));
        const int s = _mm512_reduce_add_epi32(quant32(xb, _mm512_set1_ps(act_inv_scale(amax)), q + 32 * b));
        d[b] = round_f16(amax / 127.0f);
        sum[b] = s;
        nbias[b] = -128 * s;
        dsum[b] = round_f16(amax / 127.0f * static_cast<float>(s));
    }
}

void quant_k8(const float* x, int64_t K, uint8_t* dst) {
    const K8Layout L(K);
    K8Fields f(dst, L);
    for (int64_t b = 0; b < L.nsb; b++, x += 256) {
        __m512i m = abs_bits(x);
        for (int i = 1; i < 16; i++) m = _mm512_max_epu32(m, abs_bits(x + 16 * i));
        const float amax = bits_to_float(_mm512_reduce_max_epu32(m));
        const __m512 id = _mm512_set1_ps(act_inv_scale(amax));
        f.d[b] = k8_scale(amax);
        __m512i s[16];
        for (int i = 0; i < 16; i++) {
            const __m128i q8 = _mm512_cvtsepi32_epi8(quant16(x + 16 * i, id));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(f.q + 256 * b + 16 * i), q8);
            s[i] = _mm512_cvtepi8_epi32(q8);
        }
        for (int g4 = 0; g4 < 4; g4++) {
            alignas(64) int32_t sm[16];
            _mm512_store_si512(sm,
                               reduce4<Reduce::Add>(s[4 * g4], s[4 * g4 + 1], s[4 * g4 + 2], s[4 * g4 + 3]));
            for (int i = 0; i < 4; i++) f.set_sum16(16 * b + 4 * g4 + i, sm[4 * i]);
        }
    }
    f.finish(K);
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
