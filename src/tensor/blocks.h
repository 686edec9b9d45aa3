// Block layouts of ggml's quantised types, byte for byte as stored in GGUF files (fields in storage order;
// `d`, `m`, `dmin` are IEEE f16 bits). Sizes are fixed by the format and checked below. The meaning of each
// field (how a block dequantises) is in tensor/quant.h and the spec sheet §2.
#pragma once

#include <cstdint>

namespace r1 {

constexpr int kQK = 32;     // elements per block of the 32-element types (Q4_0 .. Q8_0, IQ4_NL)
constexpr int kQK_K = 256;  // elements per super-block of the K-quants

// y = d * (q - 8); q are 4-bit, element j in the low nibble of qs[j], element j+16 in the high nibble.
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[16];
};
// y = d * q + m
struct BlockQ4_1 {
    uint16_t d, m;
    uint8_t qs[16];
};
// 5-bit q: low 4 bits as Q4_0, bit 4 of element j is bit j of the little-endian u32 qh. y = d * (q - 16).
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[16];
};
// y = d * q + m (5-bit q as Q5_0)
struct BlockQ5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[16];
};
// y = d * q
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[32];
};
// 16 sub-blocks of 16, 2-bit q. scales[s]: low nibble scale, high nibble min. y = d*sc*q - dmin*m.
struct BlockQ2_K {
    uint8_t scales[16];
    uint8_t qs[64];
    uint16_t d, dmin;
};
// 16 sub-blocks of 16, 3-bit q (2 low bits in qs, high bit in hmask), 6-bit signed scales packed in 12 bytes.
struct BlockQ3_K {
    uint8_t hmask[32];
    uint8_t qs[64];
    uint8_t scales[12];
    uint16_t d;
};
// 8 sub-blocks of 32, 4-bit q, 6-bit scales and mins packed in 12 bytes. y = d*sc*q - dmin*m.
struct BlockQ4_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[128];
};
// As Q4_K plus a fifth bit per element in qh.
struct BlockQ5_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[32];
    uint8_t qs[128];
};
// 16 sub-blocks of 16, 6-bit q (low 4 bits in ql, high 2 in qh), int8 scales. y = d*sc*(q - 32).
struct BlockQ6_K {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;
};
// Activation side of K-quant dot products: f32 scale, int8 values, sums of each group of 16 values.
struct BlockQ8_K {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
};
// Nibbles as Q4_0; y = d * kIQ4NLValues[q].
struct BlockIQ4_NL {
    uint16_t d;
    uint8_t qs[16];
};

// The non-linear 4-bit code book of IQ4_NL.
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block.
inline void k4_scale_min(const uint8_t* s, int j, int* sc, int* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// The 16 signed 6-bit scales of a Q3_K block (already minus 32).
inline void q3k_scales(const uint8_t* s, int8_t out[16]) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
        int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = static_cast<int8_t>((lo | (hi << 4)) - 32);
    }
}

}  // namespace r1
