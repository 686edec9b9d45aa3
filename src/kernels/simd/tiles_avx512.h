// Weight tiles for the AVX-512 integer kernel (matmul_int_avx512.cpp): 16 rows x 256 columns of a quantised
// weight matrix unpacked into "rows in lanes" form, straight from the rows as stored (no repacking at load).
//
// A tile chunk holds, for pieces p of 32 columns (one 32-element block, or one or two K-quant sub-blocks):
//   u[8p + g]   one zmm: bytes 4g..4g+3 of piece p for rows 0..15 (dword lane i = row i), unsigned;
//               symmetric types as value + 128 (the activations carry the -128 * sum correction; Q6_K: its
//               raw codes = value + 32, with a -32 * sum correction), asymmetric ones (Q4_1 Q5_1 Q2_K Q4_K
//               Q5_K) as their raw codes with w = S * u - M
//   S[s], M[s]  the scale and offset of sub-block s for rows 0..15, computed with the same float operations
//               as ggml's dequantisers (see unpack.h), so S * (u - 128) and S * u - M are exact; Q4_K Q5_K
//               Q6_K instead keep their integer sub-block scales (isc, mpair) and f32 d, dmin.
// Rows are gathered into lanes with 16 x 8-dword register transposes (shuffles), per-row f16 scales with 16
// scalar loads. A vpdpbusd of u[8p + g] against 4 broadcast activation bytes then adds 4 products of every
// row at once, and the integer sum of a whole sub-block ends up in one lane: exact, converted once, scaled
// once.
//
// The builders hand each piece's 8 zmm to a sink as soon as it is unpacked (the sink either stores them in
// the chunk, or uses them at once); scales go to S / M first. Pieces come in the order piece_at<T>(0..7).
//
// Include after `#pragma GCC target(...avx512...)`; everything has internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/simd/avx512_common.h"
#include "kernels/simd/unpack.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace r1::simd::avx512 {
namespace {

constexpr int kTileRows = 16;
constexpr int kChunkCols = 256;  // columns per chunk: one K-quant super-block, or 8 blocks of 32

template <DType T>
constexpr size_t kBlockBytes = T == DType::Q8_0     ? sizeof(BlockQ8_0)
                               : T == DType::Q4_0   ? sizeof(BlockQ4_0)
                               : T == DType::Q4_1   ? sizeof(BlockQ4_1)
                               : T == DType::Q5_0   ? sizeof(BlockQ5_0)
                               : T == DType::Q5_1   ? sizeof(BlockQ5_1)
                               : T == DType::IQ4_NL ? sizeof(BlockIQ4_NL)
                               : T == DType::Q2_K   ? sizeof(BlockQ2_K)
                               : T == DType::Q3_K   ? sizeof(BlockQ3_K)
                               : T == DType::Q4_K   ? sizeof(BlockQ4_K)
                               : T == DType::Q5_K   ? sizeof(BlockQ5_K)
                               : T == DType::Q6_K   ? sizeof(BlockQ6_K)
                                                    : 0;

// Types whose unpacking reads up to kTileMargin bytes before or after a block (one 32-byte load per row that
// puts the scale and the codes on dword boundaries): the caller must make those bytes readable.
constexpr size_t kTileMargin = 64;
template <DType T>
constexpr bool kNeedsMargin =
    T == DType::Q4_0 || T == DType::IQ4_NL || T == DType::Q4_1 || T == DType::Q5_0 || T == DType::Q5_1;

// The i-th piece a builder emits (Q6_K emits the two pieces of each ql half first).
template <DType T>
constexpr int piece_at(int i) {
    if constexpr (T == DType::Q6_K) return (i & 4) | ((i & 1) << 1) | ((i >> 1) & 1);
    return i;
}

struct TileChunk {
    __m512i u[64];
    alignas(64) float S[16][16];
    alignas(64) float M[16][16];
    // Q4_K / Q5_K / Q6_K keep their sub-block scales as integers (applied to the integer sub-block sums, as
    // ggml does), with the super-block scale(s) in f32:
    alignas(64) int32_t isc[16][16];   // scale of sub-block j
    alignas(64) int32_t mpair[4][16];  // Q4_K / Q5_K: mins of sub-blocks 2i, 2i+1 as two int16
    alignas(64) float d[16], dmin[16];
};

// 16 rows starting at `base`, `stride` bytes apart.
struct TileRows {
    const uint8_t* base;
    size_t stride;
};

// Transposes 16 rows x 4 dwords (row i at src + i * stride) into out[j] = dword j of rows 0..15. Each zmm
// first holds rows g, g+4, g+8, g+12 in its 128-bit lanes; a 4 x 4 dword transpose inside the lanes then
// puts row 4L + g at dword 4L + g.
R1_AVX512_INLINE void transpose16x4(const uint8_t* src, size_t stride, __m512i out[4]) {
    __m512i z[4];
    for (int g = 0; g < 4; g++) {
        __m512i v =
            _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + g * stride)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (4 + g) * stride)),
                               1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (8 + g) * stride)),
                               2);
        z[g] = _mm512_inserti32x4(
            v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (12 + g) * stride)), 3);
    }
    const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    out[0] = _mm512_unpacklo_epi64(t0, t2);
    out[1] = _mm512_unpackhi_epi64(t0, t2);
    out[2] = _mm512_unpacklo_epi64(t1, t3);
    out[3] = _mm512_unpackhi_epi64(t1, t3);
}

// The f16 at src + i * stride for each row i, as f32 (16 scalar loads: a gather is twice as slow on Zen 4).
R1_AVX512_INLINE __m512 f16_rows(const uint8_t* src, size_t stride) {
    uint16_t h[16];
    for (int i = 0; i < 16; i++) std::memcpy(&h[i], src + i * stride, 2);
    return _mm512_cvtph_ps(
        _mm256_setr_epi16(static_cast<short>(h[0]), static_cast<short>(h[1]), static_cast<short>(h[2]),
                          static_cast<short>(h[3]), static_cast<short>(h[4]), static_cast<short>(h[5]),
                          static_cast<short>(h[6]), static_cast<short>(h[7]), static_cast<short>(h[8]),
                          static_cast<short>(h[9]), static_cast<short>(h[10]), static_cast<short>(h[11]),
                          static_cast<short>(h[12]), static_cast<short>(h[13]), static_cast<short>(h[14]),
                          static_cast<short>(h[15])));
}

// f32 of the f16 in the low / high half of each dword.
R1_AVX512_INLINE __m512 f16_lo(__m512i v) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}
R1_AVX512_INLINE __m512 f16_hi(__m512i v) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
}

R1_AVX512_INLINE __m512i low_nibbles(__m512i v) {
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
}
R1_AVX512_INLINE __m512i high_nibbles(__m512i v) {
    return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f));
}

// Q5_0 / Q5_1: adds 16 to the byte of element e of each row where bit e of that row's qh (one dword per lane)
// is set, for the 8 k-groups of a block. k-group g covers elements 4g..4g+3: byte g/2 of qh, nibble g%2.
R1_AVX512_INLINE void add_high_bits32(__m512i qh, __m512i* u) {
    for (int m = 0; m < 4; m++) {
        // every byte of dword L (of each 128-bit lane) <- byte m of dword L: shuffle index 4L + m
        const __m512i ctl = _mm512_add_epi8(
            _mm512_set1_epi8(static_cast<char>(m)),
            _mm512_set_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0, 0x0c0c0c0c, 0x08080808, 0x04040404, 0,
                             0x0c0c0c0c, 0x08080808, 0x04040404, 0, 0x0c0c0c0c, 0x08080808, 0x04040404, 0));
        const __m512i rep = _mm512_shuffle_epi8(qh, ctl);
        for (int h = 0; h < 2; h++) {
            const int g = 2 * m + h;
            const __m512i bits = _mm512_set1_epi32(static_cast<int>(0x08040201u << (4 * h)));
            u[g] = _mm512_mask_add_epi8(u[g], _mm512_test_epi8_mask(rep, bits), u[g], _mm512_set1_epi8(16));
        }
    }
}

// ---- 32-element block types: a chunk is up to 8 blocks (piece p = block b0 + p) ------------------------

template <DType T, typename Sink>
R1_AVX512_INLINE void build_a8(const TileRows& R, int64_t b0, int nblk, TileChunk* c, Sink&& sink) {
    constexpr size_t bb = kBlockBytes<T>;
    for (int p = 0; p < nblk; p++) {
        const uint8_t* blk = R.base + static_cast<size_t>(b0 + p) * bb;
        __m512i u[8];
        if constexpr (T == DType::Q8_0) {
            _mm512_store_ps(c->S[p], f16_rows(blk, R.stride));
            transpose16x8(blk + 2, R.stride, u);
            for (int g = 0; g < 8; g++) u[g] = _mm512_xor_si512(u[g], _mm512_set1_epi8(-128));
        } else {
            // 32 bytes of each row from `blk - lead`, so that every field lands on a dword: the f16 scale in
            // the high half of dword 0 (lead 2) or d | m << 16 in dword 0, then qh (Q5_*), then the 16 nibble
            // bytes (reads 2 bytes before and up to 12 after the block: kNeedsMargin)
            constexpr int lead = T == DType::Q4_1 || T == DType::Q5_1 ? 0 : 2;
            constexpr int qs_dw = T == DType::Q5_0 || T == DType::Q5_1 ? 2 : 1;
            __m512i dw[8];
            transpose16x8(blk - lead, R.stride, dw);
            if constexpr (lead == 2) {
                _mm512_store_ps(c->S[p], f16_hi(dw[0]));
            } else {
                _mm512_store_ps(c->S[p], f16_lo(dw[0]));
                _mm512_store_ps(c->M[p], _mm512_sub_ps(_mm512_setzero_ps(), f16_hi(dw[0])));
            }
            for (int g = 0; g < 4; g++) {  // elements 0..15 in the low nibbles, 16..31 in the high ones
                u[g] = low_nibbles(dw[qs_dw + g]);
                u[g + 4] = high_nibbles(dw[qs_dw + g]);
            }
            if constexpr (T == DType::IQ4_NL) {
                const __m512i tbl = _mm512_broadcast_i32x4(
                    _mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, static_cast<char>(118), static_cast<char>(129),
                                  static_cast<char>(141), static_cast<char>(153), static_cast<char>(166),
                                  static_cast<char>(181), static_cast<char>(197), static_cast<char>(217),
                                  static_cast<char>(241)));  // code book + 128
                for (int g = 0; g < 8; g++) u[g] = _mm512_shuffle_epi8(tbl, u[g]);
            } else if constexpr (T == DType::Q4_0) {
                for (int g = 0; g < 8; g++)
                    u[g] = _mm512_add_epi8(u[g], _mm512_set1_epi8(120));  // q - 8 + 128
            } else if constexpr (T == DType::Q5_0 || T == DType::Q5_1) {
                if constexpr (T == DType::Q5_0)
                    for (int g = 0; g < 8; g++)
                        u[g] = _mm512_add_epi8(u[g], _mm512_set1_epi8(112));  // q-16+128
                add_high_bits32(dw[1], u);
            }
        }
        sink(p, u);
    }
}

// ---- K-quants: a chunk is one super-block of 256
// ------------------------------------------------------------

// Q4_K / Q5_K scales: header dwords of the 16 rows (d | dmin << 16, then the 12 scale bytes) -> d, dmin and
// the 6-bit fields of k4_scale_min (tensor/blocks.h), first as 4 bytes per lane, then one per dword.
R1_AVX512_INLINE void k4_scales(const uint8_t* blk, size_t stride, TileChunk* c) {
    __m512i h[4];
    transpose16x4(blk, stride, h);
    _mm512_store_ps(c->d, f16_lo(h[0]));
    _mm512_store_ps(c->dmin, f16_hi(h[0]));
    const __m512i m63 = _mm512_set1_epi8(63), m15 = _mm512_set1_epi8(15), hi2 = _mm512_set1_epi8(0x30);
    const __m512i scA = _mm512_and_si512(h[1], m63), mA = _mm512_and_si512(h[2], m63);
    const __m512i scB =
        _mm512_or_si512(_mm512_and_si512(h[3], m15), _mm512_and_si512(_mm512_srli_epi32(h[1], 2), hi2));
    const __m512i mB = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(h[3], 4), m15),
                                       _mm512_and_si512(_mm512_srli_epi32(h[2], 2), hi2));
    const __m512i byte = _mm512_set1_epi32(0xff), word1 = _mm512_set1_epi32(0xff0000);
    for (int j = 0; j < 4; j++) {
        _mm512_store_si512(c->isc[j], _mm512_and_si512(_mm512_srli_epi32(scA, 8 * j), byte));
        _mm512_store_si512(c->isc[j + 4], _mm512_and_si512(_mm512_srli_epi32(scB, 8 * j), byte));
    }
    for (int i = 0; i < 2; i++) {
        const __m512i m = i == 0 ? mA : mB;  // -> m0 | m1 << 16, m2 | m3 << 16
        _mm512_store_si512(
            c->mpair[2 * i],
            _mm512_or_si512(_mm512_and_si512(m, byte), _mm512_and_si512(_mm512_slli_epi32(m, 8), word1)));
        _mm512_store_si512(c->mpair[2 * i + 1],
                           _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(m, 16), byte),
                                           _mm512_and_si512(_mm512_srli_epi32(m, 8), word1)));
    }
}

template <DType T, typename Sink>
R1_AVX512_INLINE void build_k(const TileRows& R, int64_t sb, TileChunk* c, Sink&& sink) {
    const uint8_t* blk = R.base + static_cast<size_t>(sb) * kBlockBytes<T>;
    if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
        k4_scales(blk, R.stride, c);
        __m512i qh[8];
        if constexpr (T == DType::Q5_K) transpose16x8(blk + 16, R.stride, qh);
        const uint8_t* qs = blk + (T == DType::Q4_K ? 16 : 48);
        for (int ch = 0; ch < 4; ch++) {  // 32 bytes of qs: sub-block 2ch (low nibbles), 2ch + 1 (high)
            __m512i raw[8], u[8];
            transpose16x8(qs + 32 * ch, R.stride, raw);
            for (int h = 0; h < 2; h++) {
                for (int g = 0; g < 8; g++) {
                    u[g] = h == 0 ? low_nibbles(raw[g]) : high_nibbles(raw[g]);
                    if constexpr (T == DType::Q5_K)
                        u[g] = _mm512_mask_add_epi8(
                            u[g],
                            _mm512_test_epi8_mask(qh[g],
                                                  _mm512_set1_epi8(static_cast<char>(1 << (2 * ch + h)))),
                            u[g], _mm512_set1_epi8(16));
                }
                sink(2 * ch + h, u);
            }
        }
    } else if constexpr (T == DType::Q6_K) {
        __m512i sc[4];
        transpose16x4(blk + 192, R.stride, sc);
        _mm512_store_ps(c->d, f16_rows(blk + 208, R.stride));
        for (int j = 0; j < 4; j++)  // int8 scales, sign-extended
            for (int i = 0; i < 4; i++)
                _mm512_store_si512(c->isc[4 * j + i],
                                   _mm512_srai_epi32(_mm512_slli_epi32(sc[j], 24 - 8 * i), 24));
        // Raw 6-bit codes (value + 32; the activations carry the -32 * sum correction). Half h: elements 32i
        // + l (l < 32) of piece 4h + i come from ql[64h + l] (i = 0, 2: low / high nibble) or ql[64h + 32 +
        // l] (i = 1, 3) and bits 2i, 2i+1 of qh[32h + l]. Low 4 bits | high 2 bits in one ternary-logic op.
        const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x30);
        for (int h = 0; h < 2; h++) {
            __m512i q[8], a[8], u[8];
            transpose16x8(blk + 128 + 32 * h, R.stride, q);
            for (int i = 0; i < 2; i++) {
                transpose16x8(blk + 64 * h + 32 * i, R.stride, a);
                for (int g = 0; g < 8; g++)  // (a & 0x0f) | high bits
                    u[g] = _mm512_ternarylogic_epi32(
                        a[g], _mm512_and_si512(_mm512_slli_epi16(q[g], 4 - 2 * i), m2), m4, 0xec);
                sink(4 * h + i, u);
                for (int g = 0; g < 8; g++)
                    u[g] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(a[g], 4),
                                                     _mm512_and_si512(_mm512_srli_epi16(q[g], 2 * i), m2), m4,
                                                     0xec);
                sink(4 * h + 2 + i, u);
            }
        }
    } else {  // Q2_K, Q3_K (rare): the scalar unpacker per row, then a transpose
        alignas(64) uint8_t tmp[16][256];
        alignas(64) float Sb[16][16], Mb[16][16];
        for (int i = 0; i < 16; i++) unpack_block(T, blk + i * R.stride, tmp[i], Sb[i], Mb[i]);
        for (int s = 0; s < 16; s++)
            for (int i = 0; i < 16; i++) {
                c->S[s][i] = Sb[i][s];
                c->M[s][i] = Mb[i][s];
            }
        for (int p = 0; p < 8; p++) {
            __m512i u[8];
            transpose16x8(&tmp[0][32 * p], 256, u);
            sink(p, u);
        }
    }
}

}  // namespace
}  // namespace r1::simd::avx512
