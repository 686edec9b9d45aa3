// AVX2 row-dot kernels for the integer weight types (decode and small n; also the prefill path on CPUs
// without AVX-512). Products are formed with maddubs (u8 x s8 -> pairs of i16), which saturates beyond 32767,
// so:
//   symmetric 32-element types use signed codes v and the sign trick maddubs(|v|, sign(a, v)) (|v| <= 128,
//     |a| <= 127: exact);
//   asymmetric and K-quant types use their unsigned codes u <= 63 directly, with w = S * u - M.
// Per 32-element block (or per pair of 16-element sub-blocks) the int32 lanes are converted and scaled in
// f32.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "base/float16.h"
#include "kernels/simd/kernels.h"
#include "kernels/simd/unpack.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2")

namespace r1::simd::avx2 {

void rowdot_f32family(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);

namespace {

constexpr int kMaxTok = 4;

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float f16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// 16 nibble bytes -> 32 codes in element order (low nibbles = elements 0..15, high = 16..31).
inline __m256i nibbles(const uint8_t* q) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    const __m128i m = _mm_set1_epi8(0x0f);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, m)),
                                   _mm_and_si128(_mm_srli_epi16(v, 4), m), 1);
}

// The 32 bits of qh as 32 bytes of 0x10 / 0x00.
inline __m256i high_bits(const uint8_t* p) {
    uint32_t qh;
    std::memcpy(&qh, p, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), shuf);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(0x10));
}

// One 32-element block: codes (signed v for symmetric types, unsigned u for asymmetric), S and M.
struct BlockUnit {
    __m256i q;
    float S, M;
};

template <DType T>
inline BlockUnit unpack32(const uint8_t* b) {
    BlockUnit u;
    u.S = f16(b);
    u.M = 0;
    if constexpr (T == DType::Q8_0) {
        u.q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
    } else if constexpr (T == DType::Q4_0) {
        u.q = _mm256_sub_epi8(nibbles(b + 2), _mm256_set1_epi8(8));
    } else if constexpr (T == DType::Q5_0) {
        u.q = _mm256_sub_epi8(_mm256_or_si256(nibbles(b + 6), high_bits(b + 2)), _mm256_set1_epi8(16));
    } else if constexpr (T == DType::IQ4_NL) {
        const __m128i tbl = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLValues));
        u.q = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(tbl), nibbles(b + 2));
    } else if constexpr (T == DType::Q4_1) {
        u.q = nibbles(b + 4);
        u.M = -f16(b + 2);
    } else {  // Q5_1
        u.q = _mm256_or_si256(nibbles(b + 8), high_bits(b + 4));
        u.M = -f16(b + 2);
    }
    return u;
}

template <DType T>
constexpr bool kSigned = T == DType::Q8_0 || T == DType::Q4_0 || T == DType::Q5_0 || T == DType::IQ4_NL;

template <DType T, int NT>
void rows_a8(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, int64_t t0, float* y, int64_t ldy) {
    const A8Layout L(a.K);
    const size_t bb = static_cast<size_t>(dtype_info(T).block_bytes);
    const int8_t* q[NT];
    const float* d[NT];
    const float* ds[NT];
    for (int t = 0; t < NT; t++) {
        const uint8_t* tok = a.tok(t0 + t);
        q[t] = reinterpret_cast<const int8_t*>(tok);
        d[t] = reinterpret_cast<const float*>(tok + L.off_d);
        ds[t] = reinterpret_cast<const float*>(tok + L.off_dsum);
    }
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* row = w.data + r * w.row_stride;
        __m256 acc[NT];
        float corr[NT];
        for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps(), corr[t] = 0;
        for (int64_t b = 0; b < L.nb; b++) {
            const BlockUnit u = unpack32<T>(row + b * bb);
            const __m256i absq = kSigned<T> ? _mm256_sign_epi8(u.q, u.q) : u.q;
            for (int t = 0; t < NT; t++) {
                __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q[t] + 32 * b));
                if constexpr (kSigned<T>) av = _mm256_sign_epi8(av, u.q);
                const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(absq, av), ones);
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(u.S * d[t][b]), acc[t]);
                if constexpr (!kSigned<T>) corr[t] += u.M * ds[t][b];
            }
        }
        for (int t = 0; t < NT; t++) y[(t0 + t) * ldy + r] = hsum(acc[t]) - corr[t];
    }
}

// ---- K-quants
// ------------------------------------------------------------------------------------------------

struct SuperUnit {
    __m256i u[8];                    // 256 unsigned codes in element order
    alignas(32) float S[16], M[16];  // per sub-block (sub 32 types use entries 0..7)
};

template <DType T>
inline void unpack_super(const uint8_t* blk, SuperUnit* su) {
    if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
        const float d = f16(blk), dmin = f16(blk + 2);
        uint32_t s[3], sm[4];
        std::memcpy(s, blk + 4, 12);
        sm[0] = s[0] & 0x3f3f3f3fu;
        sm[1] = (s[2] & 0x0f0f0f0fu) | (((s[0] >> 6) & 0x03030303u) << 4);
        sm[2] = s[1] & 0x3f3f3f3fu;
        sm[3] = ((s[2] >> 4) & 0x0f0f0f0fu) | (((s[1] >> 6) & 0x03030303u) << 4);
        const __m128i scm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sm));
        _mm256_store_ps(su->S,
                        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scm)), _mm256_set1_ps(d)));
        _mm256_store_ps(su->M, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(scm, 8))),
                                             _mm256_set1_ps(dmin)));
        const uint8_t* qs = blk + (T == DType::Q4_K ? 16 : 48);
        const __m256i m = _mm256_set1_epi8(0x0f);
        __m256i qh = _mm256_setzero_si256();
        if constexpr (T == DType::Q5_K) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16));
        for (int c = 0; c < 4; c++) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
            __m256i lo = _mm256_and_si256(v, m), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
            if constexpr (T == DType::Q5_K) {
                const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * c)));
                const __m256i b1 = _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1)));
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0),
                                                          _mm256_set1_epi8(16)));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1),
                                                          _mm256_set1_epi8(16)));
            }
            su->u[2 * c] = lo;
            su->u[2 * c + 1] = hi;
        }
    } else if constexpr (T == DType::Q6_K) {
        const float d = f16(blk + 208);
        const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
        const __m256 S0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)), _mm256_set1_ps(d));
        const __m256 S1 =
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8))), _mm256_set1_ps(d));
        _mm256_store_ps(su->S, S0);
        _mm256_store_ps(su->S + 8, S1);
        _mm256_store_ps(su->M, _mm256_mul_ps(S0, _mm256_set1_ps(32.0f)));
        _mm256_store_ps(su->M + 8, _mm256_mul_ps(S1, _mm256_set1_ps(32.0f)));
        const __m256i m = _mm256_set1_epi8(0x0f), three = _mm256_set1_epi8(0x30);
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h));
            const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32));
            const __m256i H = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
            su->u[4 * h + 0] =
                _mm256_or_si256(_mm256_and_si256(l0, m), _mm256_and_si256(_mm256_slli_epi16(H, 4), three));
            su->u[4 * h + 1] =
                _mm256_or_si256(_mm256_and_si256(l1, m), _mm256_and_si256(_mm256_slli_epi16(H, 2), three));
            su->u[4 * h + 2] =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m), _mm256_and_si256(H, three));
            su->u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m),
                                               _mm256_and_si256(_mm256_srli_epi16(H, 2), three));
        }
    } else {  // Q2_K, Q3_K: scalar unpack (Q3_K codes are value + 128: subtract to get u in 0..7 with M = 4
              // S)
        alignas(32) uint8_t u[256];
        unpack_block(T, blk, u, su->S, su->M);
        for (int i = 0; i < 8; i++)
            su->u[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(u + 32 * i));
        if constexpr (T == DType::Q3_K) {
            for (int i = 0; i < 8; i++) su->u[i] = _mm256_sub_epi8(su->u[i], _mm256_set1_epi8(124));
            for (int s = 0; s < 16; s++) su->M[s] = 4.0f * su->S[s];
        }
    }
}

template <DType T, int NT>
void rows_k8(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, int64_t t0, float* y, int64_t ldy) {
    constexpr bool sub32 = T == DType::Q4_K || T == DType::Q5_K;
    const K8Layout L(a.K);
    const size_t bb = static_cast<size_t>(dtype_info(T).block_bytes);
    const int8_t* q[NT];
    const float* d[NT];
    const float* bs[NT];
    for (int t = 0; t < NT; t++) {
        const uint8_t* tok = a.tok(t0 + t);
        q[t] = reinterpret_cast<const int8_t*>(tok);
        d[t] = reinterpret_cast<const float*>(tok + L.off_d);
        bs[t] = reinterpret_cast<const float*>(tok + (sub32 ? L.off_bsf32 : L.off_bsf16));
    }
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* row = w.data + r * w.row_stride;
        __m256 acc[NT];
        for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
        for (int64_t sb = 0; sb < L.nsb; sb++) {
            SuperUnit su;
            unpack_super<T>(row + sb * bb, &su);
            // lane scales: sub 32 -> one S per register; sub 16 -> [S_2i x4 | S_2i+1 x4]
            __m256 Sexp[8];
            for (int i = 0; i < 8; i++)
                Sexp[i] = sub32 ? _mm256_set1_ps(su.S[i])
                                : _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(su.S[2 * i])),
                                                       _mm_set1_ps(su.S[2 * i + 1]), 1);
            for (int t = 0; t < NT; t++) {
                const int8_t* qt = q[t] + 256 * sb;
                __m256 s = _mm256_setzero_ps();
                for (int i = 0; i < 8; i++) {
                    const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qt + 32 * i));
                    const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(su.u[i], av), ones);
                    s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), Sexp[i], s);
                }
                if constexpr (sub32) {
                    s = _mm256_fnmadd_ps(_mm256_load_ps(su.M), _mm256_loadu_ps(bs[t] + 8 * sb), s);
                } else {
                    s = _mm256_fnmadd_ps(_mm256_load_ps(su.M), _mm256_loadu_ps(bs[t] + 16 * sb), s);
                    s = _mm256_fnmadd_ps(_mm256_load_ps(su.M + 8), _mm256_loadu_ps(bs[t] + 16 * sb + 8), s);
                }
                acc[t] = _mm256_fmadd_ps(s, _mm256_set1_ps(d[t][sb]), acc[t]);
            }
        }
        for (int t = 0; t < NT; t++) y[(t0 + t) * ldy + r] = hsum(acc[t]);
    }
}

template <DType T, bool K8>
void rows_typed(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    for (int64_t t0 = 0; t0 < a.n; t0 += kMaxTok) {
        const int64_t nt = a.n - t0 < kMaxTok ? a.n - t0 : kMaxTok;
        switch (nt) {
#define R1_CASE(N)                                   \
    case N:                                          \
        if constexpr (K8)                            \
            rows_k8<T, N>(w, r0, r1, a, t0, y, ldy); \
        else                                         \
            rows_a8<T, N>(w, r0, r1, a, t0, y, ldy); \
        break;
            R1_CASE(1)
            R1_CASE(2)
            R1_CASE(3)
            R1_CASE(4)
#undef R1_CASE
            default:
                break;
        }
    }
}

}  // namespace

void rowdot(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    switch (w.type) {
        case DType::Q8_0:
            return rows_typed<DType::Q8_0, false>(w, r0, r1, a, y, ldy);
        case DType::Q4_0:
            return rows_typed<DType::Q4_0, false>(w, r0, r1, a, y, ldy);
        case DType::Q4_1:
            return rows_typed<DType::Q4_1, false>(w, r0, r1, a, y, ldy);
        case DType::Q5_0:
            return rows_typed<DType::Q5_0, false>(w, r0, r1, a, y, ldy);
        case DType::Q5_1:
            return rows_typed<DType::Q5_1, false>(w, r0, r1, a, y, ldy);
        case DType::IQ4_NL:
            return rows_typed<DType::IQ4_NL, false>(w, r0, r1, a, y, ldy);
        case DType::Q4_K:
            return rows_typed<DType::Q4_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q5_K:
            return rows_typed<DType::Q5_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q6_K:
            return rows_typed<DType::Q6_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q2_K:
            return rows_typed<DType::Q2_K, true>(w, r0, r1, a, y, ldy);
        case DType::Q3_K:
            return rows_typed<DType::Q3_K, true>(w, r0, r1, a, y, ldy);
        default:
            return rowdot_f32family(w, r0, r1, a, y, ldy);
    }
}

}  // namespace r1::simd::avx2

#pragma GCC pop_options
