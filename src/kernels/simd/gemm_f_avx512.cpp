// AVX-512 tiled GEMM for f32-family weights (F32 F16 BF16 F8 E4M3) against f32 activations, for larger n:
// Y[t, r] = sum_c W[r, c] X[t, c]. Panels of 32 rows are converted to f32 and stored k-major ([K][32]), then
// multiplied by broadcast f32 activations with FMA (12 tokens x 32 rows per tile). The integer weight types
// use matmul_int_avx512.cpp instead.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "base/error.h"
#include "kernels/simd/kernels.h"

// GCC 12 warns about the deliberately undefined inputs inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,f16c,avx2,bmi,bmi2")

#include "kernels/simd/avx512_common.h"

namespace r1::simd::avx512 {
namespace {

constexpr int RP = kPanelRows;  // 32 rows = 2 halves of 16 lanes

inline void store_rows(float* y, __m512 v0, __m512 v1, int valid) {
    if (valid >= 32) {
        _mm512_storeu_ps(y, v0);
        _mm512_storeu_ps(y + 16, v1);
    } else {
        const __mmask16 m0 = valid >= 16 ? 0xffff : static_cast<__mmask16>((1u << valid) - 1);
        const __mmask16 m1 = valid <= 16 ? 0 : static_cast<__mmask16>((1u << (valid - 16)) - 1);
        _mm512_mask_storeu_ps(y, m0, v0);
        _mm512_mask_storeu_ps(y + 16, m1, v1);
    }
}

// Rows [r0, r0 + 32) converted to f32 and transposed to [Kp][32] (Kp = K rounded up to 8; zero padding).
template <DType T>
void repack_f(const MatRef& w, int64_t r0, float* panel) {
    constexpr int KC = 128;  // k per conversion chunk: 16 rows x 128 f32 = 8 KB stays in L1
    alignas(64) float tmp[16][KC];
    const int64_t K = w.cols;
    for (int h = 0; h < 2; h++) {
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            const int64_t kn = K - k0 < KC ? K - k0 : KC;
            for (int i = 0; i < 16; i++) {
                const int64_t r = r0 + 16 * h + i;
                for (int64_t k = 0; k < KC; k += 16) {
                    const int64_t left = kn - k;
                    const __mmask16 m = left >= 16  ? 0xffff
                                        : left <= 0 ? 0
                                                    : static_cast<__mmask16>((1u << left) - 1);
                    _mm512_store_ps(&tmp[i][k], r < w.rows ? load16_f<T>(w.data + r * w.row_stride, k0 + k, m)
                                                           : _mm512_setzero_ps());
                }
            }
            for (int64_t c = 0; c < (kn + 7) / 8; c++) {
                __m512i out[8];
                transpose16x8(reinterpret_cast<const uint8_t*>(&tmp[0][8 * c]), KC * 4, out);
                for (int j = 0; j < 8; j++)
                    _mm512_store_si512(panel + (k0 + 8 * c + j) * RP + 16 * h, out[j]);
            }
        }
    }
}

template <int TN>
void kernel_f32(const float* panel, int64_t K, const Acts& a, int64_t t0, float* y, int64_t ldy, int valid) {
    const float* x[TN];
    for (int t = 0; t < TN; t++) x[t] = a.x + (t0 + t) * a.ldx;
    __m512 acc0[TN], acc1[TN];
    for (int t = 0; t < TN; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        const __m512 w0 = _mm512_load_ps(panel + k * RP), w1 = _mm512_load_ps(panel + k * RP + 16);
        for (int t = 0; t < TN; t++) {
            const __m512 b = _mm512_set1_ps(x[t][k]);
            acc0[t] = _mm512_fmadd_ps(w0, b, acc0[t]);
            acc1[t] = _mm512_fmadd_ps(w1, b, acc1[t]);
        }
    }
    for (int t = 0; t < TN; t++) store_rows(y + (t0 + t) * ldy, acc0[t], acc1[t], valid);
}

constexpr int kTokF32 = 12;

template <int... Ns>
void run_f32_tail(int rem, const float* panel, int64_t K, const Acts& a, int64_t t, float* y, int64_t ldy,
                  int valid) {
    ((rem == Ns ? kernel_f32<Ns>(panel, K, a, t, y, ldy, valid) : void()), ...);
}

template <DType T>
void gemm_f(const MatRef& w, int64_t p0, int64_t p1, const Acts& a, float* y, int64_t ldy) {
    const int64_t K = w.cols, Kp = (K + 7) / 8 * 8;
    float* panel = reinterpret_cast<float*>(thread_scratch(0, static_cast<size_t>(RP * Kp) * 4 + 64));
    for (int64_t pi = p0; pi < p1; pi++) {
        const int64_t r0 = pi * RP;
        const int valid = static_cast<int>(w.rows - r0 < RP ? w.rows - r0 : RP);
        repack_f<T>(w, r0, panel);
        int64_t t = 0;
        for (; t + kTokF32 <= a.n; t += kTokF32) kernel_f32<kTokF32>(panel, K, a, t, y + r0, ldy, valid);
        run_f32_tail<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11>(static_cast<int>(a.n - t), panel, K, a, t, y + r0,
                                                        ldy, valid);
    }
}
}  // namespace

void gemm_f32family(const MatRef& w, int64_t p0, int64_t p1, const Acts& a, float* y, int64_t ldy) {
    switch (w.type) {
        case DType::F32:
            return gemm_f<DType::F32>(w, p0, p1, a, y, ldy);
        case DType::F16:
            return gemm_f<DType::F16>(w, p0, p1, a, y, ldy);
        case DType::BF16:
            return gemm_f<DType::BF16>(w, p0, p1, a, y, ldy);
        case DType::F8_E4M3:
            return gemm_f<DType::F8_E4M3>(w, p0, p1, a, y, ldy);
        default:
            R1_ASSERT(false, "gemm_f32family: unsupported type %s", dtype_name(w.type));
    }
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
