// Helpers shared by quant.cpp and quant_k.cpp (not part of the public API).
#pragma once

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace r1::quant_detail {

// Round to nearest (ties to even) by the 1.5*2^23 trick, exactly as ggml's reference quantisers do. For
// |x| > 2^22 the result is meaningless (as in ggml) but deterministic.
inline int nearest_int(float x) {
    float v = x + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// C's float -> int truncation with the x86 result for NaN and out-of-range values (INT_MIN) instead of UB.
inline int trunc_int(float x) {
    if (!(x > -2147483648.0f && x < 2147483648.0f)) return INT_MIN;
    return static_cast<int>(x);
}

// C's (int8_t)(float) and (uint8_t)(float) as compiled by gcc on x86-64: truncate to int32, keep the low
// byte.
inline int8_t trunc_i8(float x) {
    return static_cast<int8_t>(static_cast<uint32_t>(trunc_int(x)) & 0xff);
}
inline uint8_t trunc_u8(float x) {
    return static_cast<uint8_t>(static_cast<uint32_t>(trunc_int(x)) & 0xff);
}

// roundf() then (int8_t), guarded the same way.
inline int8_t round_i8(float x) {
    return trunc_i8(std::round(x));
}

constexpr float kGroupMaxEps = 1e-15f;

}  // namespace r1::quant_detail
