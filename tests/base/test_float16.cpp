// f16 / bf16 / fp8 conversions against independent references: the compiler's own _Float16 conversions (IEEE
// round-to-nearest-even) and the OCP FP8 E4M3 definition written out as values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/float16.h"
#include "base/rng.h"

namespace r1 {
namespace {

uint16_t f16_bits(_Float16 h) {
    uint16_t u;
    std::memcpy(&u, &h, 2);
    return u;
}
_Float16 bits_f16(uint16_t u) {
    _Float16 h;
    std::memcpy(&h, &u, 2);
    return h;
}

TEST(Float16, DecodesEveryHalfLikeTheCompiler) {
    for (uint32_t u = 0; u < 65536; u++) {
        const float ours = f16_to_f32(static_cast<uint16_t>(u));
        const float ref = static_cast<float>(bits_f16(static_cast<uint16_t>(u)));
        if (std::isnan(ref)) {
            EXPECT_TRUE(std::isnan(ours)) << u;
        } else {
            EXPECT_EQ(f32_bits(ours), f32_bits(ref)) << "half bits " << u;
        }
    }
}

TEST(Float16, EncodesLikeTheCompiler) {
    // Every half value, the midpoints between neighbours (ties), and random floats across the whole range.
    auto check = [](float f) {
        const uint16_t ours = f32_to_f16(f);
        const uint16_t ref = f16_bits(static_cast<_Float16>(f));
        if (std::isnan(f)) {
            EXPECT_EQ(ours & 0x7c00, 0x7c00);
            EXPECT_NE(ours & 0x3ff, 0);
        } else {
            ASSERT_EQ(ours, ref) << "f32 bits " << std::hex << f32_bits(f);
        }
    };
    for (uint32_t u = 0; u < 65535; u++) {
        const float a = f16_to_f32(static_cast<uint16_t>(u)), b = f16_to_f32(static_cast<uint16_t>(u + 1));
        check(a);
        if (std::isfinite(a) && std::isfinite(b)) {
            check(static_cast<float>((static_cast<double>(a) + b) / 2));
            check(std::nextafter(static_cast<float>((static_cast<double>(a) + b) / 2), b));
        }
    }
    Rng rng(7);
    for (int i = 0; i < 2000000; i++) check(bits_f32(static_cast<uint32_t>(rng.next_u64())));
    check(65504.0f);
    check(65519.99f);
    check(65520.0f);
    check(1e-8f);
    check(-0.0f);
    check(INFINITY);
    check(-INFINITY);
}

TEST(BFloat16, RoundsToNearestEvenAndKeepsNaN) {
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
    // 1 + 2^-8 is exactly between bf16 1.0 (even) and 1.0078125: ties to even -> 1.0
    EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
    // 1 + 3*2^-8 is between 1.0078125 (odd) and 1.015625 (even) -> up
    EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);
    EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
    EXPECT_EQ(f32_to_bf16(INFINITY), 0x7f80);
    for (uint32_t u = 0; u < 65536; u += 7) {
        const float f = bf16_to_f32(static_cast<uint16_t>(u));
        if (!std::isnan(f)) EXPECT_EQ(f32_to_bf16(f), u);
    }
}

TEST(Fp8E4M3, MatchesTheOcpDefinition) {
    for (int b = 0; b < 256; b++) {
        const int sign = b >> 7, e = (b >> 3) & 15, m = b & 7;
        const float v = fp8_e4m3_to_f32(static_cast<uint8_t>(b));
        if (e == 15 && m == 7) {
            EXPECT_TRUE(std::isnan(v)) << b;
            continue;
        }
        const double mag = e == 0 ? (m / 8.0) * std::pow(2.0, -6) : (1 + m / 8.0) * std::pow(2.0, e - 7);
        EXPECT_EQ(static_cast<double>(v), sign ? -mag : mag) << b;
    }
    EXPECT_EQ(fp8_e4m3_to_f32(0x7e), 448.0f);   // largest finite
    EXPECT_EQ(fp8_e4m3_to_f32(0x01), 0.001953125f);  // smallest subnormal, 2^-9
}

}  // namespace
}  // namespace r1
