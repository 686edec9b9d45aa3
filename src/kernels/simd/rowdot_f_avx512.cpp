// AVX-512 row-dot kernels for f32-family weights (F32, F16, BF16, F8 E4M3) against f32 activations: each
// weight row is converted 16 values at a time and FMA'd into one accumulator per token (up to 4 tokens per
// pass).
#include <immintrin.h>

#include <cstdint>

#include "kernels/simd/kernels.h"

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,f16c,avx2,bmi,bmi2")

namespace r1::simd::avx512 {
namespace {

// 16 weights starting at element k of `row` (only the lanes in m are read).
template <DType T>
inline __m512 load_w(const uint8_t* row, int64_t k, __mmask16 m, const float* lut) {
    if constexpr (T == DType::F32) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
    } else if constexpr (T == DType::F16) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k));
    } else if constexpr (T == DType::BF16) {
        const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {  // F8_E4M3 through the 256-entry table
        const __m512i idx = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, row + k));
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, lut, 4);
    }
}

template <DType T, int NT>
void rows_f(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, int64_t t0, float* y, int64_t ldy) {
    const int64_t K = w.cols;
    const float* lut = fp8_e4m3_table();
    const float* x[NT];
    for (int t = 0; t < NT; t++) x[t] = a.x + (t0 + t) * a.ldx;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* row = w.data + r * w.row_stride;
        __m512 acc0[NT], acc1[NT];
        for (int t = 0; t < NT; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 32 <= K; k += 32) {
            const __m512 w0 = load_w<T>(row, k, 0xffff, lut), w1 = load_w<T>(row, k + 16, 0xffff, lut);
            for (int t = 0; t < NT; t++) {
                acc0[t] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x[t] + k), acc0[t]);
                acc1[t] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x[t] + k + 16), acc1[t]);
            }
        }
        for (; k < K; k += 16) {
            const __mmask16 m = K - k >= 16 ? 0xffff : static_cast<__mmask16>((1u << (K - k)) - 1);
            const __m512 w0 = load_w<T>(row, k, m, lut);
            for (int t = 0; t < NT; t++)
                acc0[t] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, x[t] + k), acc0[t]);
        }
        for (int t = 0; t < NT; t++)
            y[(t0 + t) * ldy + r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t]));
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

}  // namespace r1::simd::avx512

#pragma GCC pop_options
