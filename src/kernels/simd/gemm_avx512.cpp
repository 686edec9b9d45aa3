// AVX-512 tiled GEMM for prefill (n > 1): Y[t, r] = sum_c W[r, c] X[t, c].
//
// Integer types: the weights are repacked per call, one panel of 32 rows at a time, into a layout where one
// 64-byte load holds 4 consecutive k of 16 rows ("rows in lanes"); the panel (32 x K bytes, in L2) is then
// reused by every token. u8 panel x s8 activations with vpdpbusd (VNNI): each 32-bit lane accumulates 4
// products of one row, the activation's 4 bytes broadcast from memory. Per sub-block the int32 sums are
// converted and scaled by S (per row) and by the activation scale (per token). Repacking (unpack each block,
// then a 16 x 8 dword transpose in registers) is O(32 K) per panel against O(32 K n) multiply-adds.
//
// f32 family (F32 F16 BF16 F8): the same panels of 32 rows, converted to f32 and stored k-major ([K][32]),
// times broadcast f32 activations with FMA (12 tokens x 32 rows per tile).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "base/error.h"
#include "kernels/simd/kernels.h"
#include "kernels/simd/unpack.h"

// GCC 12 warns about the deliberately undefined inputs inside its own AVX-512 reduction intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma,f16c,avx2,bmi,bmi2")

#include "kernels/simd/avx512_common.h"

namespace r1::simd::avx512 {
namespace {

constexpr int RP = kPanelRows;  // 32 rows = 2 halves of 16 lanes

// ---- integer panels
// ----------------------------------------------------------------------------------------

struct IntPanel {
    const uint8_t* u;  // [nsub][sub/4][2][16 rows][4 bytes]
    const float* S;    // [nsub][32]
    const float* M;    // [nsub][32] (asymmetric types)
};

// One block in the panel's form: u (symmetric types: value + 128, so the -128 * sum bias applies), S and M
// per sub-block (M = 0 for symmetric types). SIMD unpackers for the common types, the generic one otherwise.
template <DType T>
inline void unpack_for_panel(const uint8_t* blk, uint8_t* u, float* S, float* M) {
    constexpr UnpackSpec sp = unpack_spec(T);
    if constexpr (sp.block == 32 && T != DType::Q4_1 && T != DType::Q5_1) {
        const PairUnit p = unpack_pair<T>(blk, nullptr);
        _mm256_store_si256(reinterpret_cast<__m256i*>(u), _mm512_castsi512_si256(p.u));
        S[0] = _mm512_cvtss_f32(p.S);
        M[0] = 0.0f;
    } else if constexpr (T == DType::Q4_K || T == DType::Q5_K || T == DType::Q6_K) {
        SuperUnit su;
        unpack_super<T>(blk, &su);
        for (int i = 0; i < 4; i++) {
            __m512i v = su.u[i];
            if constexpr (T == DType::Q6_K) v = _mm512_add_epi8(v, _mm512_set1_epi8(96));  // value + 128
            _mm512_store_si512(u + 64 * i, v);
        }
        if constexpr (T == DType::Q6_K) {
            _mm512_store_ps(S, su.S);
            _mm512_store_ps(M, _mm512_setzero_ps());
        } else {  // lanes 0..7 M, lanes 8..15 S
            alignas(64) float ms[16];
            _mm512_store_ps(ms, su.S);
            for (int s = 0; s < 8; s++) M[s] = ms[s], S[s] = ms[8 + s];
        }
    } else {
        unpack_block(T, blk, u, S, M);
        if constexpr (!sp.asym)
            for (int s = 0; s < sp.block / sp.sub; s++) M[s] = 0.0f;
    }
}

// Unpacks rows [r0, r0 + 32) (zero rows past the end) and interleaves them into the panel layout: for each
// 16-row half, each block is unpacked for the 16 rows into a small buffer, then every 32-byte chunk of the 16
// rows is transposed into 8 zmm (one per 4-byte step).
template <DType T>
IntPanel repack_int(const MatRef& w, int64_t r0, uint8_t* buf) {
    constexpr UnpackSpec sp = unpack_spec(T);
    constexpr int nsubb = sp.block / sp.sub;  // sub-blocks per block
    const int64_t K = w.cols, nsub = K / sp.sub, nblk = K / sp.block;
    const size_t bbytes = static_cast<size_t>(dtype_info(T).block_bytes);
    uint8_t* u = buf;
    float* S = reinterpret_cast<float*>(buf + round64(static_cast<size_t>(RP * K)));
    float* M = S + nsub * RP;
    alignas(64) uint8_t tmp[16 * sp.block];
    alignas(64) float Sb[16][nsubb], Mb[16][nsubb];
    for (int h = 0; h < 2; h++) {
        for (int64_t b = 0; b < nblk; b++) {
            for (int i = 0; i < 16; i++) {
                const int64_t r = r0 + 16 * h + i;
                if (r < w.rows)
                    unpack_for_panel<T>(w.data + r * w.row_stride + b * bbytes, tmp + i * sp.block, Sb[i],
                                        Mb[i]);
                else {
                    std::memset(tmp + i * sp.block, 0, sp.block);
                    for (int s = 0; s < nsubb; s++) Sb[i][s] = Mb[i][s] = 0.0f;
                }
            }
            for (int c = 0; c < sp.block / 32; c++) {
                __m512i out[8];
                transpose16x8(tmp + 32 * c, sp.block, out);
                const int64_t g0 = (b * sp.block + 32 * c) / 4;  // first 4-byte group of the chunk
                for (int j = 0; j < 8; j++) _mm512_store_si512(u + ((g0 + j) * 2 + h) * 64, out[j]);
            }
            for (int s = 0; s < nsubb; s++)
                for (int i = 0; i < 16; i++) {
                    S[(b * nsubb + s) * RP + 16 * h + i] = Sb[i][s];
                    M[(b * nsubb + s) * RP + 16 * h + i] = Mb[i][s];
                }
        }
    }
    return {u, S, M};
}

size_t int_panel_bytes(int64_t K, const UnpackSpec& sp) {
    return round64(static_cast<size_t>(RP * K)) + static_cast<size_t>(2 * (K / sp.sub) * RP) * 4 + 64;
}

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

inline __m512i bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// A8 activations (32-element blocks, one scale per block): TN tokens x 32 rows.
template <int TN, bool ASYM>
void kernel_a8(const IntPanel& p, int64_t K, const Acts& a, int64_t t0, float* y, int64_t ldy, int valid) {
    const A8Layout L(K);
    const int8_t* q[TN];
    const float* d[TN];
    const int32_t* nbias[TN];
    const float* dsum[TN];
    for (int t = 0; t < TN; t++) {
        const uint8_t* tok = a.tok(t0 + t);
        q[t] = reinterpret_cast<const int8_t*>(tok);
        d[t] = reinterpret_cast<const float*>(tok + L.off_d);
        nbias[t] = reinterpret_cast<const int32_t*>(tok + L.off_nbias);
        dsum[t] = reinterpret_cast<const float*>(tok + L.off_dsum);
    }
    __m512 acc0[TN], acc1[TN];
    for (int t = 0; t < TN; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
    const uint8_t* pu = p.u;
    for (int64_t j = 0; j < L.nb; j++, pu += 32 * 32) {
        __m512i s0[TN], s1[TN];
        for (int t = 0; t < TN; t++)
            s0[t] = s1[t] = ASYM ? _mm512_setzero_si512() : _mm512_set1_epi32(nbias[t][j]);
        for (int s = 0; s < 8; s++) {
            const __m512i w0 = _mm512_loadu_si512(pu + s * 128);
            const __m512i w1 = _mm512_loadu_si512(pu + s * 128 + 64);
            for (int t = 0; t < TN; t++) {
                const __m512i b = bcast4(q[t] + 32 * j + 4 * s);
                s0[t] = _mm512_dpbusd_epi32(s0[t], w0, b);
                s1[t] = _mm512_dpbusd_epi32(s1[t], w1, b);
            }
        }
        const __m512 S0 = _mm512_loadu_ps(p.S + j * RP), S1 = _mm512_loadu_ps(p.S + j * RP + 16);
        for (int t = 0; t < TN; t++) {
            const __m512 dx = _mm512_set1_ps(d[t][j]);
            acc0[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s0[t]), S0), dx, acc0[t]);
            acc1[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s1[t]), S1), dx, acc1[t]);
        }
        if (ASYM) {
            const __m512 M0 = _mm512_loadu_ps(p.M + j * RP), M1 = _mm512_loadu_ps(p.M + j * RP + 16);
            for (int t = 0; t < TN; t++) {
                const __m512 ds = _mm512_set1_ps(dsum[t][j]);
                acc0[t] = _mm512_fnmadd_ps(M0, ds, acc0[t]);
                acc1[t] = _mm512_fnmadd_ps(M1, ds, acc1[t]);
            }
        }
    }
    for (int t = 0; t < TN; t++) store_rows(y + (t0 + t) * ldy, acc0[t], acc1[t], valid);
}

// K8 activations (one scale per 256): per super-block the sub-block sums are scaled by S into sb0/sb1, then
// multiplied by the token's scale once.
template <int TN, int SUB, bool ASYM>
void kernel_k8(const IntPanel& p, int64_t K, const Acts& a, int64_t t0, float* y, int64_t ldy, int valid) {
    const K8Layout L(K);
    const int8_t* q[TN];
    const float* d[TN];
    const int32_t* nbias16[TN];
    const float* bsf[TN];
    for (int t = 0; t < TN; t++) {
        const uint8_t* tok = a.tok(t0 + t);
        q[t] = reinterpret_cast<const int8_t*>(tok);
        d[t] = reinterpret_cast<const float*>(tok + L.off_d);
        nbias16[t] = reinterpret_cast<const int32_t*>(tok + L.off_nbias16);
        bsf[t] = reinterpret_cast<const float*>(tok + (SUB == 16 ? L.off_bsf16 : L.off_bsf32));
    }
    static_assert(SUB == 16 || ASYM, "symmetric K8 types use 16-element sub-blocks");
    constexpr int per_sb = 256 / SUB, steps = SUB / 4;
    __m512 acc0[TN], acc1[TN];
    for (int t = 0; t < TN; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
    const uint8_t* pu = p.u;
    for (int64_t sb = 0; sb < L.nsb; sb++) {
        __m512 sb0[TN], sb1[TN];
        for (int t = 0; t < TN; t++) sb0[t] = sb1[t] = _mm512_setzero_ps();
        for (int js = 0; js < per_sb; js++, pu += SUB * 32) {
            const int64_t j = sb * per_sb + js;
            __m512i s0[TN], s1[TN];
            for (int t = 0; t < TN; t++)
                s0[t] = s1[t] = ASYM ? _mm512_setzero_si512() : _mm512_set1_epi32(nbias16[t][j]);
            for (int s = 0; s < steps; s++) {
                const __m512i w0 = _mm512_loadu_si512(pu + s * 128);
                const __m512i w1 = _mm512_loadu_si512(pu + s * 128 + 64);
                for (int t = 0; t < TN; t++) {
                    const __m512i b = bcast4(q[t] + SUB * j + 4 * s);
                    s0[t] = _mm512_dpbusd_epi32(s0[t], w0, b);
                    s1[t] = _mm512_dpbusd_epi32(s1[t], w1, b);
                }
            }
            const __m512 S0 = _mm512_loadu_ps(p.S + j * RP), S1 = _mm512_loadu_ps(p.S + j * RP + 16);
            for (int t = 0; t < TN; t++) {
                sb0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0[t]), S0, sb0[t]);
                sb1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1[t]), S1, sb1[t]);
            }
            if (ASYM) {
                const __m512 M0 = _mm512_loadu_ps(p.M + j * RP), M1 = _mm512_loadu_ps(p.M + j * RP + 16);
                for (int t = 0; t < TN; t++) {
                    const __m512 bs = _mm512_set1_ps(bsf[t][j]);
                    sb0[t] = _mm512_fnmadd_ps(M0, bs, sb0[t]);
                    sb1[t] = _mm512_fnmadd_ps(M1, bs, sb1[t]);
                }
            }
        }
        for (int t = 0; t < TN; t++) {
            const __m512 dx = _mm512_set1_ps(d[t][sb]);
            acc0[t] = _mm512_fmadd_ps(sb0[t], dx, acc0[t]);
            acc1[t] = _mm512_fmadd_ps(sb1[t], dx, acc1[t]);
        }
    }
    for (int t = 0; t < TN; t++) store_rows(y + (t0 + t) * ldy, acc0[t], acc1[t], valid);
}

template <int TN>
void run_int_tile(const IntPanel& p, const UnpackSpec& sp, const Acts& a, int64_t t0, float* y, int64_t ldy,
                  int valid) {
    const int64_t K = a.K;
    if (a.kind == ActKind::A8) {
        if (sp.asym)
            kernel_a8<TN, true>(p, K, a, t0, y, ldy, valid);
        else
            kernel_a8<TN, false>(p, K, a, t0, y, ldy, valid);
    } else if (sp.sub == 16) {
        if (sp.asym)
            kernel_k8<TN, 16, true>(p, K, a, t0, y, ldy, valid);
        else
            kernel_k8<TN, 16, false>(p, K, a, t0, y, ldy, valid);
    } else {
        kernel_k8<TN, 32, true>(p, K, a, t0, y, ldy, valid);
    }
}

constexpr int kTokA8 = 6;  // tokens per integer tile (A8 keeps 2 x TN float and 2 x TN int accumulators)
constexpr int kTokK8 = 4;  // K8 also keeps the per-super-block sums

template <DType T>
void gemm_int(const MatRef& w, int64_t p0, int64_t p1, const Acts& a, float* y, int64_t ldy) {
    constexpr UnpackSpec sp = unpack_spec(T);
    uint8_t* buf = thread_scratch(0, int_panel_bytes(w.cols, sp));
    const int tn = a.kind == ActKind::A8 ? kTokA8 : kTokK8;
    for (int64_t pi = p0; pi < p1; pi++) {
        const int64_t r0 = pi * RP;
        const int valid = static_cast<int>(w.rows - r0 < RP ? w.rows - r0 : RP);
        const IntPanel p = repack_int<T>(w, r0, buf);
        float* yp = y + r0;
        int64_t t = 0;
        for (; t + tn <= a.n; t += tn) {
            if (tn == 6)
                run_int_tile<6>(p, sp, a, t, yp, ldy, valid);
            else
                run_int_tile<4>(p, sp, a, t, yp, ldy, valid);
        }
        switch (a.n - t) {
            case 5:
                run_int_tile<5>(p, sp, a, t, yp, ldy, valid);
                break;
            case 4:
                run_int_tile<4>(p, sp, a, t, yp, ldy, valid);
                break;
            case 3:
                run_int_tile<3>(p, sp, a, t, yp, ldy, valid);
                break;
            case 2:
                run_int_tile<2>(p, sp, a, t, yp, ldy, valid);
                break;
            case 1:
                run_int_tile<1>(p, sp, a, t, yp, ldy, valid);
                break;
            default:
                break;
        }
    }
}

// ---- f32 family: panels of 32 rows as [K][32] f32
// -----------------------------------------------------------

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

bool gemm_has(DType t) {
    switch (t) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::F8_E4M3:
            return true;
        default:
            return unpack_spec(t).block != 0;
    }
}

void gemm(const MatRef& w, int64_t p0, int64_t p1, const Acts& a, float* y, int64_t ldy) {
    switch (w.type) {
        case DType::F32:
            return gemm_f<DType::F32>(w, p0, p1, a, y, ldy);
        case DType::F16:
            return gemm_f<DType::F16>(w, p0, p1, a, y, ldy);
        case DType::BF16:
            return gemm_f<DType::BF16>(w, p0, p1, a, y, ldy);
        case DType::F8_E4M3:
            return gemm_f<DType::F8_E4M3>(w, p0, p1, a, y, ldy);
        case DType::Q4_0:
            return gemm_int<DType::Q4_0>(w, p0, p1, a, y, ldy);
        case DType::Q4_1:
            return gemm_int<DType::Q4_1>(w, p0, p1, a, y, ldy);
        case DType::Q5_0:
            return gemm_int<DType::Q5_0>(w, p0, p1, a, y, ldy);
        case DType::Q5_1:
            return gemm_int<DType::Q5_1>(w, p0, p1, a, y, ldy);
        case DType::Q8_0:
            return gemm_int<DType::Q8_0>(w, p0, p1, a, y, ldy);
        case DType::IQ4_NL:
            return gemm_int<DType::IQ4_NL>(w, p0, p1, a, y, ldy);
        case DType::Q2_K:
            return gemm_int<DType::Q2_K>(w, p0, p1, a, y, ldy);
        case DType::Q3_K:
            return gemm_int<DType::Q3_K>(w, p0, p1, a, y, ldy);
        case DType::Q4_K:
            return gemm_int<DType::Q4_K>(w, p0, p1, a, y, ldy);
        case DType::Q5_K:
            return gemm_int<DType::Q5_K>(w, p0, p1, a, y, ldy);
        case DType::Q6_K:
            return gemm_int<DType::Q6_K>(w, p0, p1, a, y, ldy);
        default:
            R1_ASSERT(false, "gemm: unsupported type %s", dtype_name(w.type));
    }
}

}  // namespace r1::simd::avx512

#pragma GCC pop_options
