// AVX-512 matmul for f32-family weights (F32 F16 BF16 F8 E4M3) and small n (up to kFTileMaxTokens tokens;
// more go to the panel GEMM, gemm_f_avx512.cpp).
//
// Rows in tiles of 16, one row per lane: 16 columns of the 16 rows are converted to f32 and transposed in
// registers (64 shuffles), then each token adds w[k] * x[k] for k in order into one accumulator per tile:
// exactly the per-row sequence of operations of the GEMM (one FMA chain over k per row and token), so a row's
// result is the same bit for bit whatever n is (decode and prefill agree exactly).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "base/error.h"
#include "kernels/simd/kernels.h"

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,f16c,avx2,bmi,bmi2")

#include "kernels/simd/avx512_common.h"

namespace r1::simd::avx512 {
namespace {

constexpr int kRows = 16;

// r[i] = 16 dwords of row i -> r[j] = dword j of rows 0..15.
R1_AVX512_INLINE void transpose16x16(__m512 r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        const __m512i a = _mm512_castps_si512(r[2 * i]), b = _mm512_castps_si512(r[2 * i + 1]);
        t[2 * i] = _mm512_unpacklo_epi32(a, b);
        t[2 * i + 1] = _mm512_unpackhi_epi32(a, b);
    }
    // u[4i + c], 128-bit lane L: column 4L + c of rows 4i .. 4i + 3
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    // a 4 x 4 transpose of 128-bit lanes for each c
    for (int c = 0; c < 4; c++) {
        const __m512i a = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44),
                      b = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
        const __m512i p = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44),
                      q = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
        r[c] = _mm512_castsi512_ps(_mm512_shuffle_i32x4(a, p, 0x88));
        r[4 + c] = _mm512_castsi512_ps(_mm512_shuffle_i32x4(a, p, 0xdd));
        r[8 + c] = _mm512_castsi512_ps(_mm512_shuffle_i32x4(b, q, 0x88));
        r[12 + c] = _mm512_castsi512_ps(_mm512_shuffle_i32x4(b, q, 0xdd));
    }
}

// One tile of 16 rows (row i at base + i * stride) for NT tokens.
template <DType T, int NT>
__attribute__((noinline)) void tile_f(const uint8_t* base, size_t stride, const Acts& a, float* y,
                                      int64_t ldy, __mmask16 mask, const uint8_t* ahead, size_t ahead_bytes) {
    const int64_t K = a.K;
    const float* x[NT];
    for (int t = 0; t < NT; t++) x[t] = a.x + t * a.ldx;
    __m512 acc[NT];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    const size_t per_step = (ahead_bytes * 16 / static_cast<size_t>(K) + 63) & ~size_t{63};
    size_t pf = 0;
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
        for (const size_t stop = pf + per_step < ahead_bytes ? pf + per_step : ahead_bytes; pf < stop;
             pf += 64)
            _mm_prefetch(reinterpret_cast<const char*>(ahead + pf), _MM_HINT_T1);
        const int kn = K - k0 < 16 ? static_cast<int>(K - k0) : 16;
        __m512 w[16];
        if (kn == 16 && (T == DType::F16 || T == DType::BF16)) {
            // 16-bit types: transpose pairs of columns as dwords (half the shuffles), then split the pairs
            __m512i pr[8];
            transpose16x8(base + 2 * k0, stride, pr);
            for (int j = 0; j < 8; j++) {
                if constexpr (T == DType::F16) {
                    w[2 * j] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(pr[j]));
                    w[2 * j + 1] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(pr[j], 16)));
                } else {
                    w[2 * j] = _mm512_castsi512_ps(_mm512_slli_epi32(pr[j], 16));
                    w[2 * j + 1] = _mm512_castsi512_ps(_mm512_and_si512(pr[j], _mm512_set1_epi32(-65536)));
                }
            }
        } else {
            const __mmask16 km = static_cast<__mmask16>((1u << kn) - 1);
            for (int i = 0; i < 16; i++) w[i] = load16_f<T>(base + i * stride, k0, km);
            transpose16x16(w);
        }
        if (kn == 16) {
            for (int j = 0; j < 16; j++)
                for (int t = 0; t < NT; t++)
                    acc[t] = _mm512_fmadd_ps(w[j], _mm512_set1_ps(x[t][k0 + j]), acc[t]);
        } else {
            for (int j = 0; j < kn; j++)
                for (int t = 0; t < NT; t++)
                    acc[t] = _mm512_fmadd_ps(w[j], _mm512_set1_ps(x[t][k0 + j]), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[t]);
}

template <DType T, int... Ns>
void tile_f_n(int nt, const uint8_t* base, size_t stride, const Acts& a, float* y, int64_t ldy,
              __mmask16 mask, const uint8_t* ahead, size_t ahead_bytes) {
    ((nt == Ns ? tile_f<T, Ns>(base, stride, a, y, ldy, mask, ahead, ahead_bytes) : void()), ...);
}

template <DType T>
void tiles_f(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    const size_t tile_bytes = kRows * w.row_stride;
    const int64_t dist = static_cast<int64_t>(((size_t{32} << 10) + tile_bytes - 1) / tile_bytes);
    for (int64_t r = r0; r < r1; r += kRows) {
        const int valid = r1 - r < kRows ? static_cast<int>(r1 - r) : kRows;
        const uint8_t* base = w.data + static_cast<size_t>(r) * w.row_stride;
        if (valid < kRows) {  // last rows of the matrix: a zero-padded copy, so no read goes past them
            uint8_t* pad = thread_scratch(1, tile_bytes);
            std::memcpy(pad, base, static_cast<size_t>(valid) * w.row_stride);
            std::memset(pad + valid * w.row_stride, 0, static_cast<size_t>(kRows - valid) * w.row_stride);
            base = pad;
        }
        const int64_t ahead_row = r + dist * kRows;
        const size_t ahead_bytes = ahead_row + kRows <= w.rows ? tile_bytes
                                   : ahead_row < w.rows
                                       ? static_cast<size_t>(w.rows - ahead_row) * w.row_stride
                                       : 0;
        tile_f_n<T, 1, 2, 3, 4, 5, 6, 7, 8>(static_cast<int>(a.n), base, w.row_stride, a, y + r, ldy,
                                            static_cast<__mmask16>((1u << valid) - 1),
                                            w.data + static_cast<size_t>(ahead_row) * w.row_stride,
                                            ahead_bytes);
    }
}

}  // namespace

void matmul_f_tiles(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    R1_ASSERT(a.n >= 1 && a.n <= kFTileMaxTokens, "matmul_f_tiles: n = %lld", static_cast<long long>(a.n));
    switch (w.type) {
        case DType::F32:
            return tiles_f<DType::F32>(w, r0, r1, a, y, ldy);
        case DType::F16:
            return tiles_f<DType::F16>(w, r0, r1, a, y, ldy);
        case DType::BF16:
            return tiles_f<DType::BF16>(w, r0, r1, a, y, ldy);
        case DType::F8_E4M3:
            return tiles_f<DType::F8_E4M3>(w, r0, r1, a, y, ldy);
        default:
            R1_ASSERT(false, "matmul_f_tiles: unsupported type %s", dtype_name(w.type));
    }
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
