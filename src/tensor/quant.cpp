// Reference (scalar) dequantisation of every weight type and quantisation of the plain and 32-element block
// types, written from ggml's formats so that bytes and floats match ggml-quants.c exactly (the float
// operations are done in the same order; no FMA contraction). K-quant quantisers are in quant_k.cpp.
#include "tensor/quant.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/float16.h"
#include "tensor/blocks.h"
#include "tensor/quant_internal.h"

// Bit-exactness with ggml needs a*b+c to stay two roundings even where the compiler may use FMA.
#pragma GCC optimize("fp-contract=off")

namespace r1 {

using namespace quant_detail;

// Defined in quant_k.cpp.
void dequantize_row_q2_K(const BlockQ2_K* x, float* y, int64_t n);
void dequantize_row_q3_K(const BlockQ3_K* x, float* y, int64_t n);
void dequantize_row_q4_K(const BlockQ4_K* x, float* y, int64_t n);
void dequantize_row_q5_K(const BlockQ5_K* x, float* y, int64_t n);
void dequantize_row_q6_K(const BlockQ6_K* x, float* y, int64_t n);
void dequantize_row_q8_K(const BlockQ8_K* x, float* y, int64_t n);
void quantize_row_q2_K(const float* x, BlockQ2_K* y, int64_t n);
void quantize_row_q3_K(const float* x, BlockQ3_K* y, int64_t n);
void quantize_row_q4_K(const float* x, BlockQ4_K* y, int64_t n);
void quantize_row_q5_K(const float* x, BlockQ5_K* y, int64_t n);
void quantize_row_q6_K(const float* x, BlockQ6_K* y, int64_t n);
void quantize_row_q8_K(const float* x, BlockQ8_K* y, int64_t n);

namespace {

// ---- dequantisation of the 32-element blocks --------------------------------------------------------------

void dequant_q4_0(const BlockQ4_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = static_cast<float>((x[i].qs[j] & 15) - 8) * d;
            y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequant_q4_1(const BlockQ4_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = f16_to_f32(x[i].d), m = f16_to_f32(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = static_cast<float>(x[i].qs[j] & 15) * d + m;
            y[j + 16] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
        }
    }
}

inline uint32_t load_qh(const uint8_t* qh) {
    return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 |
           static_cast<uint32_t>(qh[2]) << 16 | static_cast<uint32_t>(qh[3]) << 24;
}

void dequant_q5_0(const BlockQ5_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = f16_to_f32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; j++) {
            const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            y[j] = static_cast<float>(((x[i].qs[j] & 15) | h0) - 16) * d;
            y[j + 16] = static_cast<float>(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void dequant_q5_1(const BlockQ5_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = f16_to_f32(x[i].d), m = f16_to_f32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; j++) {
            const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            y[j] = static_cast<float>((x[i].qs[j] & 15) | h0) * d + m;
            y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void dequant_q8_0(const BlockQ8_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

void dequant_iq4_nl(const BlockIQ4_NL* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = f16_to_f32(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * static_cast<float>(kIQ4NLValues[x[i].qs[j] & 15]);
            y[j + 16] = d * static_cast<float>(kIQ4NLValues[x[i].qs[j] >> 4]);
        }
    }
}

// ---- quantisation of the 32-element blocks (ggml's quantize_row_*_ref) ------------------------------------

// The value of largest magnitude (first one on ties), and that magnitude.
inline float signed_absmax(const float* x, int n, float* amax_out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    *amax_out = amax;
    return max;
}

void quant_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float amax;
        const float max = signed_absmax(x, 32, &amax);
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            int q0 = trunc_i8(x[j] * id + 8.5f), q1 = trunc_i8(x[j + 16] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0xff) | (q1 << 4));
        }
    }
}

void quant_q4_1(const float* x, BlockQ4_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < 32; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(min);
        for (int j = 0; j < 16; j++) {
            int q0 = trunc_i8((x[j] - min) * id + 0.5f), q1 = trunc_i8((x[j + 16] - min) * id + 0.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0xff) | (q1 << 4));
        }
    }
}

inline void store_qh(uint8_t* dst, uint32_t qh) {
    for (int b = 0; b < 4; b++) dst[b] = static_cast<uint8_t>(qh >> (8 * b));
}

void quant_q5_0(const float* x, BlockQ5_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float amax;
        const float max = signed_absmax(x, 32, &amax);
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = trunc_i8(x[j] * id + 16.5f), q1 = trunc_i8(x[j + 16] * id + 16.5f);
            const uint8_t u0 = static_cast<uint8_t>(q0 < 31 ? q0 : 31),
                          u1 = static_cast<uint8_t>(q1 < 31 ? q1 : 31);
            y[i].qs[j] = static_cast<uint8_t>((u0 & 15) | ((u1 & 15) << 4));
            qh |= static_cast<uint32_t>((u0 & 0x10u) >> 4) << j;
            qh |= static_cast<uint32_t>((u1 & 0x10u) >> 4) << (j + 16);
        }
        store_qh(y[i].qh, qh);
    }
}

void quant_q5_1(const float* x, BlockQ5_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < 32; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        y[i].m = f32_to_f16(min);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            const uint8_t u0 = trunc_u8((x[j] - min) * id + 0.5f),
                          u1 = trunc_u8((x[j + 16] - min) * id + 0.5f);
            y[i].qs[j] = static_cast<uint8_t>((u0 & 15) | ((u1 & 15) << 4));
            qh |= static_cast<uint32_t>((u0 & 0x10u) >> 4) << j;
            qh |= static_cast<uint32_t>((u1 & 0x10u) >> 4) << (j + 16);
        }
        store_qh(y[i].qh, qh);
    }
}

void quant_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < 32; j++) y[i].qs[j] = round_i8(x[j] * id);
    }
}

}  // namespace

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    const DTypeInfo& info = dtype_info(type);
    R1_ASSERT(n % info.block_size == 0,
              "dequantize_row: %lld elements is not a multiple of the %s block (%d)",
              static_cast<long long>(n), info.name, info.block_size);
    const int64_t nb = n / info.block_size;
    switch (type) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * 4);
            return;
        case DType::F16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32(h[i]);
            return;
        }
        case DType::BF16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(h[i]);
            return;
        }
        case DType::F8_E4M3: {
            const auto* b = static_cast<const uint8_t*>(src);
            for (int64_t i = 0; i < n; i++) dst[i] = fp8_e4m3_to_f32(b[i]);
            return;
        }
        case DType::Q4_0:
            dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
            return;
        case DType::Q4_1:
            dequant_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
            return;
        case DType::Q5_0:
            dequant_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
            return;
        case DType::Q5_1:
            dequant_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb);
            return;
        case DType::Q8_0:
            dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
            return;
        case DType::IQ4_NL:
            dequant_iq4_nl(static_cast<const BlockIQ4_NL*>(src), dst, nb);
            return;
        case DType::Q2_K:
            dequantize_row_q2_K(static_cast<const BlockQ2_K*>(src), dst, n);
            return;
        case DType::Q3_K:
            dequantize_row_q3_K(static_cast<const BlockQ3_K*>(src), dst, n);
            return;
        case DType::Q4_K:
            dequantize_row_q4_K(static_cast<const BlockQ4_K*>(src), dst, n);
            return;
        case DType::Q5_K:
            dequantize_row_q5_K(static_cast<const BlockQ5_K*>(src), dst, n);
            return;
        case DType::Q6_K:
            dequantize_row_q6_K(static_cast<const BlockQ6_K*>(src), dst, n);
            return;
        case DType::Q8_K:
            dequantize_row_q8_K(static_cast<const BlockQ8_K*>(src), dst, n);
            return;
        default:
            break;
    }
    fail(
        "dequantize_row: tensor type %s cannot be dequantised (supported: f32 f16 bf16 f8_e4m3 q4_0 q4_1 "
        "q5_0 "
        "q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl)",
        info.name);
}

bool can_quantize(DType type) {
    switch (type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
        case DType::Q8_K:
            return true;
        default:
            return false;
    }
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
    const DTypeInfo& info = dtype_info(type);
    if (!can_quantize(type))
        fail(
            "quantize_row: cannot quantise to %s (supported: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_K q3_K "
            "q4_K "
            "q5_K q6_K q8_K)",
            info.name);
    R1_ASSERT(n % info.block_size == 0, "quantize_row: %lld elements is not a multiple of the %s block (%d)",
              static_cast<long long>(n), info.name, info.block_size);
    const int64_t nb = n / info.block_size;
    switch (type) {
        case DType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * 4);
            return;
        case DType::F16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; i++) h[i] = f32_to_f16(src[i]);
            return;
        }
        case DType::BF16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; i++) h[i] = f32_to_bf16(src[i]);
            return;
        }
        case DType::Q4_0:
            quant_q4_0(src, static_cast<BlockQ4_0*>(dst), nb);
            return;
        case DType::Q4_1:
            quant_q4_1(src, static_cast<BlockQ4_1*>(dst), nb);
            return;
        case DType::Q5_0:
            quant_q5_0(src, static_cast<BlockQ5_0*>(dst), nb);
            return;
        case DType::Q5_1:
            quant_q5_1(src, static_cast<BlockQ5_1*>(dst), nb);
            return;
        case DType::Q8_0:
            quant_q8_0(src, static_cast<BlockQ8_0*>(dst), nb);
            return;
        case DType::Q2_K:
            quantize_row_q2_K(src, static_cast<BlockQ2_K*>(dst), n);
            return;
        case DType::Q3_K:
            quantize_row_q3_K(src, static_cast<BlockQ3_K*>(dst), n);
            return;
        case DType::Q4_K:
            quantize_row_q4_K(src, static_cast<BlockQ4_K*>(dst), n);
            return;
        case DType::Q5_K:
            quantize_row_q5_K(src, static_cast<BlockQ5_K*>(dst), n);
            return;
        case DType::Q6_K:
            quantize_row_q6_K(src, static_cast<BlockQ6_K*>(dst), n);
            return;
        case DType::Q8_K:
            quantize_row_q8_K(src, static_cast<BlockQ8_K*>(dst), n);
            return;
        default:
            break;
    }
    R1_ASSERT(false, "quantize_row: unhandled type %s", info.name);
}

}  // namespace r1
