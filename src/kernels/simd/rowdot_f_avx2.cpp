// AVX2 row-dot kernels for f32-family weights (F32, F16, BF16, F8 E4M3) against f32 activations, 8 values per
// step, up to 4 tokens per pass over a row. Row tails (K not a multiple of 8) are finished in scalar code.
#include <immintrin.h>

#include <cstdint>

#include "base/float16.h"
#include "kernels/simd/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2")

namespace r1::simd::avx2 {
namespace {

template <DType T>
inline __m256 load8(const uint8_t* row, int64_t k, const float* lut) {
    if constexpr (T == DType::F32) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
    } else if constexpr (T == DType::F16) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
    } else if constexpr (T == DType::BF16) {
        const __m256i v =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    } else {
        const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + k)));
        return _mm256_i32gather_ps(lut, idx, 4);
    }
}

template <DType T>
inline float load1(const uint8_t* row, int64_t k, const float* lut) {
    if constexpr (T == DType::F32) return reinterpret_cast<const float*>(row)[k];
    if constexpr (T == DType::F16) return f16_to_f32(reinterpret_cast<const uint16_t*>(row)[k]);
    if constexpr (T == DType::BF16) return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[k]);
    return lut[row[k]];
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

template <DType T, int NT>
void rows_f(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, int64_t t0, float* y, int64_t ldy) {
    const int64_t K = w.cols;
    const float* lut = fp8_e4m3_table();
    const float* x[NT];
    for (int t = 0; t < NT; t++) x[t] = a.x + (t0 + t) * a.ldx;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* row = w.data + r * w.row_stride;
        __m256 acc0[NT], acc1[NT];
        for (int t = 0; t < NT; t++) acc0[t] = acc1[t] = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) {
            const __m256 w0 = load8<T>(row, k, lut), w1 = load8<T>(row, k + 8, lut);
            for (int t = 0; t < NT; t++) {
                acc0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[t] + k), acc0[t]);
                acc1[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x[t] + k + 8), acc1[t]);
            }
        }
        for (; k + 8 <= K; k += 8) {
            const __m256 w0 = load8<T>(row, k, lut);
            for (int t = 0; t < NT; t++) acc0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[t] + k), acc0[t]);
        }
        for (int t = 0; t < NT; t++) {
            float s = hsum(_mm256_add_ps(acc0[t], acc1[t]));
            for (int64_t kk = k; kk < K; kk++) s += load1<T>(row, kk, lut) * x[t][kk];
            y[(t0 + t) * ldy + r] = s;
        }
    }
}

template <DType T>
void rows_f_groups(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    for (int64_t t0 = 0; t0 < a.n; t0 += 4) {
        switch (a.n - t0 < 4 ? a.n - t0 : 4) {
            case 1:
                rows_f<T, 1>(w, r0, r1, a, t0, y, ldy);
                break;
            case 2:
                rows_f<T, 2>(w, r0, r1, a, t0, y, ldy);
                break;
            case 3:
                rows_f<T, 3>(w, r0, r1, a, t0, y, ldy);
                break;
            default:
                rows_f<T, 4>(w, r0, r1, a, t0, y, ldy);
                break;
        }
    }
}

}  // namespace

void rowdot_f32family(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    switch (w.type) {
        case DType::F32:
            return rows_f_groups<DType::F32>(w, r0, r1, a, y, ldy);
        case DType::F16:
            return rows_f_groups<DType::F16>(w, r0, r1, a, y, ldy);
        case DType::BF16:
            return rows_f_groups<DType::BF16>(w, r0, r1, a, y, ldy);
        case DType::F8_E4M3:
            return rows_f_groups<DType::F8_E4M3>(w, r0, r1, a, y, ldy);
        default:
            return scalar::rowdot(w, r0, r1, a, y, ldy);
    }
}

}  // namespace r1::simd::avx2

#pragma GCC pop_options
