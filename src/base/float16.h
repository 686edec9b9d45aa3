// Scalar conversions between f32 and the 16/8-bit float formats found in model files.
//   f16  IEEE binary16 (1/5/10, bias 15)
//   bf16 the top 16 bits of an f32; f32->bf16 rounds to nearest even, NaN stays a quiet NaN (ggml's rule)
//   fp8  e4m3fn (1/4/3, bias 7, no infinities, S.1111.111 = NaN, max 448) as in DeepSeek-V3 checkpoints
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace r1 {

inline uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float bits_f32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline float f16_to_f32(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        // subnormal: value = man * 2^-24
        float v = static_cast<float>(man) * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13));
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

// Round to nearest even; overflow -> inf; NaN -> quiet NaN.
inline uint16_t f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t a = u & 0x7fffffff;
    if (a >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));
    if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);  // rounds to >= 65520 -> inf
    if (a < 0x38800000u) {                                              // below the smallest normal (2^-14)
        if (a < 0x33000000u) return static_cast<uint16_t>(sign);        // below half the smallest subnormal
        uint32_t exp = a >> 23;
        uint32_t man = (a & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - exp;  // 14 + (127 - exp) - 23 + 10 ... keeps 10-bit result
        uint32_t q = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return static_cast<uint16_t>(sign | q);
    }
    uint32_t r = a + 0xfff + ((a >> 13) & 1);  // round to nearest even at bit 13
    return static_cast<uint16_t>(sign | ((r - (112u << 23)) >> 13));
}

inline float bf16_to_f32(uint16_t h) {
    return bits_f32(static_cast<uint32_t>(h) << 16);
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 64);
    return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

// n values rounded to bf16 (a KV-cache row, the queries scored against one).
inline void f32_to_bf16_row(const float* src, uint16_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

inline float fp8_e4m3_to_f32(uint8_t b) {
    uint32_t sign = b >> 7, exp = (b >> 3) & 0xf, man = b & 7;
    float v;
    if (exp == 0xf && man == 7) return std::nanf("");
    if (exp == 0)
        v = std::ldexp(static_cast<float>(man) / 8.0f, -6);
    else
        v = std::ldexp(1.0f + static_cast<float>(man) / 8.0f, static_cast<int>(exp) - 7);
    return sign ? -v : v;
}

}  // namespace r1
