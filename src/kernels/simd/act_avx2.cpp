// AVX2 activation quantisation into the A8 / K8 partner formats (layouts and ggml's rounding rules in
// kernels.h), bit-identical to the scalar and AVX-512 versions (NaN/Inf kept in d via an integer max over |x|
// bits).
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/simd/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2")

namespace r1::simd::avx2 {
namespace {

inline __m256i abs_bits(const float* x) {
    return _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)),
                            _mm256_set1_epi32(0x7fffffff));
}

inline uint32_t hmax_epu32(__m256i v) {
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(1, 0, 3, 2)));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(2, 3, 0, 1)));
    return static_cast<uint32_t>(_mm_cvtsi128_si32(m));
}

inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

inline float amax_bits(__m256i m) {
    uint32_t b = hmax_epu32(m);
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
}

inline float round_f16(float x) {
    return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}

// 16 floats -> 16 int8 (saturating) stored at q; returns their sum.
inline int quant16(const float* x, __m256 id, int8_t* q) {
    const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id));
    const __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id));
    const __m256i w =
        _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), _MM_SHUFFLE(3, 1, 2, 0));  // 16 x i16
    const __m128i b = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), b);
    return hsum_epi32(_mm256_add_epi32(_mm256_cvtepi8_epi32(b), _mm256_cvtepi8_epi32(_mm_srli_si128(b, 8))));
}

}  // namespace

void quant_a8(const float* x, int64_t K, uint8_t* dst) {
    const A8Layout L(K);
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + L.off_d);
    auto* sum = reinterpret_cast<int32_t*>(dst + L.off_sum);
    auto* nbias = reinterpret_cast<int32_t*>(dst + L.off_nbias);
    auto* dsum = reinterpret_cast<float*>(dst + L.off_dsum);
    for (int64_t b = 0; b < L.nb; b++, x += 32, q += 32) {
        const __m256i m = _mm256_max_epu32(_mm256_max_epu32(abs_bits(x), abs_bits(x + 8)),
                                           _mm256_max_epu32(abs_bits(x + 16), abs_bits(x + 24)));
        const float amax = amax_bits(m);
        const __m256 id = _mm256_set1_ps(act_inv_scale(amax));
        const int s = quant16(x, id, q) + quant16(x + 16, id, q + 16);
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
        __m256i m = abs_bits(x);
        for (int i = 1; i < 32; i++) m = _mm256_max_epu32(m, abs_bits(x + 8 * i));
        const float amax = amax_bits(m);
        const __m256 id = _mm256_set1_ps(act_inv_scale(amax));
        f.d[b] = k8_scale(amax);
        for (int i = 0; i < 16; i++) f.set_sum16(16 * b + i, quant16(x + 16 * i, id, f.q + 256 * b + 16 * i));
    }
    f.finish(K);
}

}  // namespace r1::simd::avx2

#pragma GCC pop_options
