// Unpacking one weight block into unsigned bytes plus float sub-block scales, the common form of the scalar
// and AVX2 kernels (the AVX-512 tiles unpack the common types themselves, tiles_avx512.h, and use this for
// Q2_K / Q3_K):
//   symmetric  (Q4_0 Q5_0 Q8_0 IQ4_NL, Q3_K Q6_K):  w = S[s] * (u - 128),  u = value + 128
//   asymmetric (Q4_1 Q5_1, Q2_K Q4_K Q5_K):          w = S[s] * u - M[s]
// S and M are computed with the same float operations as ggml's dequantisers (e.g. S = d * sc for Q4_K), so
// S * (u - 128) and S * u - M reproduce dequantize_row exactly. Plain inline code, compiled for each
// including kernel's target.
#pragma once

#include <cstdint>
#include <cstring>

#include "base/float16.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace r1::simd {

struct UnpackSpec {
    int block = 0;  // elements per block
    int sub = 0;    // elements per scale (S / M entry)
    bool asym = false;
};

constexpr UnpackSpec unpack_spec(DType t) {
    switch (t) {
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0:
        case DType::IQ4_NL:
            return {32, 32, false};
        case DType::Q4_1:
        case DType::Q5_1:
            return {32, 32, true};
        case DType::Q4_K:
        case DType::Q5_K:
            return {256, 32, true};
        case DType::Q2_K:
            return {256, 16, true};
        case DType::Q3_K:
        case DType::Q6_K:
            return {256, 16, false};
        default:
            return {};
    }
}

inline uint32_t unpack_qh32(const uint8_t* qh) {
    uint32_t v;
    std::memcpy(&v, qh, 4);
    return v;
}

// Unpacks the block at `src` (of type t) into u[block], S[block/sub] and, for asymmetric types, M[block/sub].
inline void unpack_block(DType t, const uint8_t* src, uint8_t* u, float* S, float* M) {
    switch (t) {
        case DType::Q4_0: {
            const auto* b = reinterpret_cast<const BlockQ4_0*>(src);
            S[0] = f16_to_f32(b->d);
            for (int j = 0; j < 16; j++) {
                u[j] = static_cast<uint8_t>((b->qs[j] & 15) + 120);
                u[j + 16] = static_cast<uint8_t>((b->qs[j] >> 4) + 120);
            }
            return;
        }
        case DType::Q4_1: {
            const auto* b = reinterpret_cast<const BlockQ4_1*>(src);
            S[0] = f16_to_f32(b->d);
            M[0] = -f16_to_f32(b->m);
            for (int j = 0; j < 16; j++) {
                u[j] = b->qs[j] & 15;
                u[j + 16] = b->qs[j] >> 4;
            }
            return;
        }
        case DType::Q5_0: {
            const auto* b = reinterpret_cast<const BlockQ5_0*>(src);
            S[0] = f16_to_f32(b->d);
            const uint32_t qh = unpack_qh32(b->qh);
            for (int j = 0; j < 16; j++) {
                u[j] = static_cast<uint8_t>(((b->qs[j] & 15) | (((qh >> j) & 1) << 4)) + 112);
                u[j + 16] = static_cast<uint8_t>(((b->qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) + 112);
            }
            return;
        }
        case DType::Q5_1: {
            const auto* b = reinterpret_cast<const BlockQ5_1*>(src);
            S[0] = f16_to_f32(b->d);
            M[0] = -f16_to_f32(b->m);
            const uint32_t qh = unpack_qh32(b->qh);
            for (int j = 0; j < 16; j++) {
                u[j] = static_cast<uint8_t>((b->qs[j] & 15) | (((qh >> j) & 1) << 4));
                u[j + 16] = static_cast<uint8_t>((b->qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            }
            return;
        }
        case DType::Q8_0: {
            const auto* b = reinterpret_cast<const BlockQ8_0*>(src);
            S[0] = f16_to_f32(b->d);
            for (int j = 0; j < 32; j++) u[j] = static_cast<uint8_t>(static_cast<uint8_t>(b->qs[j]) ^ 0x80);
            return;
        }
        case DType::IQ4_NL: {
            const auto* b = reinterpret_cast<const BlockIQ4_NL*>(src);
            S[0] = f16_to_f32(b->d);
            for (int j = 0; j < 16; j++) {
                u[j] = static_cast<uint8_t>(kIQ4NLValues[b->qs[j] & 15] + 128);
                u[j + 16] = static_cast<uint8_t>(kIQ4NLValues[b->qs[j] >> 4] + 128);
            }
            return;
        }
        case DType::Q2_K: {
            const auto* b = reinterpret_cast<const BlockQ2_K*>(src);
            const float d = f16_to_f32(b->d), dmin = f16_to_f32(b->dmin);
            for (int s = 0; s < 16; s++) {
                S[s] = d * static_cast<float>(b->scales[s] & 15);
                M[s] = dmin * static_cast<float>(b->scales[s] >> 4);
            }
            // 128-element halves; within a half, 2-bit field `shift` of qs[l] (l < 32) is element 32*shift/2
            // + l.
            for (int h = 0; h < 2; h++)
                for (int sh = 0; sh < 4; sh++)
                    for (int l = 0; l < 32; l++)
                        u[128 * h + 32 * sh + l] = (b->qs[32 * h + l] >> (2 * sh)) & 3;
            return;
        }
        case DType::Q3_K: {
            const auto* b = reinterpret_cast<const BlockQ3_K*>(src);
            const float d = f16_to_f32(b->d);
            int8_t sc[16];
            q3k_scales(b->scales, sc);
            for (int s = 0; s < 16; s++) S[s] = d * static_cast<float>(sc[s]);
            for (int h = 0; h < 2; h++)
                for (int sh = 0; sh < 4; sh++)
                    for (int l = 0; l < 32; l++) {
                        const int lo = (b->qs[32 * h + l] >> (2 * sh)) & 3;
                        const int hi = (b->hmask[l] >> (4 * h + sh)) & 1;
                        u[128 * h + 32 * sh + l] = static_cast<uint8_t>(lo - (hi ? 0 : 4) + 128);
                    }
            return;
        }
        case DType::Q4_K: {
            const auto* b = reinterpret_cast<const BlockQ4_K*>(src);
            const float d = f16_to_f32(b->d), dmin = f16_to_f32(b->dmin);
            for (int s = 0; s < 8; s++) {
                int sc, m;
                k4_scale_min(b->scales, s, &sc, &m);
                S[s] = d * static_cast<float>(sc);
                M[s] = dmin * static_cast<float>(m);
            }
            for (int c = 0; c < 4; c++)
                for (int l = 0; l < 32; l++) {
                    u[64 * c + l] = b->qs[32 * c + l] & 15;
                    u[64 * c + 32 + l] = b->qs[32 * c + l] >> 4;
                }
            return;
        }
        case DType::Q5_K: {
            const auto* b = reinterpret_cast<const BlockQ5_K*>(src);
            const float d = f16_to_f32(b->d), dmin = f16_to_f32(b->dmin);
            for (int s = 0; s < 8; s++) {
                int sc, m;
                k4_scale_min(b->scales, s, &sc, &m);
                S[s] = d * static_cast<float>(sc);
                M[s] = dmin * static_cast<float>(m);
            }
            for (int c = 0; c < 4; c++)
                for (int l = 0; l < 32; l++) {
                    u[64 * c + l] =
                        static_cast<uint8_t>((b->qs[32 * c + l] & 15) | (((b->qh[l] >> (2 * c)) & 1) << 4));
                    u[64 * c + 32 + l] = static_cast<uint8_t>((b->qs[32 * c + l] >> 4) |
                                                              (((b->qh[l] >> (2 * c + 1)) & 1) << 4));
                }
            return;
        }
        case DType::Q6_K: {
            const auto* b = reinterpret_cast<const BlockQ6_K*>(src);
            const float d = f16_to_f32(b->d);
            for (int s = 0; s < 16; s++) S[s] = d * static_cast<float>(b->scales[s]);
            for (int h = 0; h < 2; h++) {
                const uint8_t* ql = b->ql + 64 * h;
                const uint8_t* qh = b->qh + 32 * h;
                uint8_t* o = u + 128 * h;
                for (int l = 0; l < 32; l++) {
                    o[l] = static_cast<uint8_t>(((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) + 96);
                    o[l + 32] = static_cast<uint8_t>(((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) + 96);
                    o[l + 64] = static_cast<uint8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) + 96);
                    o[l + 96] = static_cast<uint8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) + 96);
                }
            }
            return;
        }
        default:
            break;
    }
}

}  // namespace r1::simd
