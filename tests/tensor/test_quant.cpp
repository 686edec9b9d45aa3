// Reference quantisation against ggml: identical quantised bytes and bit-identical dequantised floats on the
// goldens from scripts/quant-goldens/ (made by ggml's own quantize_row_*_ref / to_float), plus hand-built
// blocks with known values and round-trip error bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/float16.h"
#include "base/rng.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"
#include "tensor/quant.h"

namespace r1 {
namespace {

struct Golden {
    DType type;
    uint32_t nq = 0, nr = 0;
    std::vector<float> in, deq, rdeq;
    std::vector<uint8_t> q, rb;
};

template <typename T>
void read_vec(FILE* f, std::vector<T>* v, size_t n, const std::string& path) {
    v->resize(n);
    ASSERT_EQ(std::fread(v->data(), sizeof(T), n, f), n) << "truncated golden " << path;
}

void load_golden(DType type, Golden* g) {
    std::string path = std::string(R1_TEST_DATA) + "/quant/" + dtype_name(type) + ".bin";
    FILE* f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr) << "missing " << path << " (scripts/quant-goldens/make-goldens.sh)";
    char magic[4];
    uint32_t hdr[3];
    ASSERT_EQ(std::fread(magic, 1, 4, f), 4u);
    ASSERT_EQ(std::memcmp(magic, "R1QG", 4), 0);
    ASSERT_EQ(std::fread(hdr, 4, 3, f), 3u);
    ASSERT_EQ(hdr[0], static_cast<uint32_t>(type));
    g->type = type;
    g->nq = hdr[1];
    g->nr = hdr[2];
    read_vec(f, &g->in, g->nq, path);
    read_vec(f, &g->q, row_bytes(type, g->nq), path);
    read_vec(f, &g->deq, g->nq, path);
    read_vec(f, &g->rb, row_bytes(type, g->nr), path);
    read_vec(f, &g->rdeq, g->nr, path);
    std::fclose(f);
}

// Bit-identical comparison (so -0 vs +0 and NaN payloads count), reporting the first difference.
void expect_bits_equal(const std::vector<float>& want, const std::vector<float>& got, const char* what) {
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); i++) {
        if (f32_bits(want[i]) != f32_bits(got[i])) {
            ADD_FAILURE() << what << ": element " << i << " ggml " << want[i] << " ours " << got[i];
            return;
        }
    }
}

const DType kGoldenTypes[] = {DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,  DType::Q5_0,
                              DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,  DType::Q4_K,
                              DType::Q5_K, DType::Q6_K, DType::Q8_K, DType::IQ4_NL};

class QuantGolden : public ::testing::TestWithParam<DType> {};

TEST_P(QuantGolden, QuantizeMatchesGgmlBytes) {
    Golden g;
    ASSERT_NO_FATAL_FAILURE(load_golden(GetParam(), &g));
    if (!can_quantize(g.type)) GTEST_SKIP() << dtype_name(g.type) << " has no reference quantiser here";
    std::vector<uint8_t> ours(g.q.size(), 0xAB);
    quantize_row(g.type, g.in.data(), ours.data(), g.nq);
    const int bb = dtype_info(g.type).block_bytes;
    for (size_t i = 0; i < ours.size(); i++) {
        if (ours[i] != g.q[i]) {
            FAIL() << dtype_name(g.type) << ": byte " << i << " (block " << i / bb << ", offset " << i % bb
                   << ") ggml " << int(g.q[i]) << " ours " << int(ours[i]);
        }
    }
}

TEST_P(QuantGolden, DequantizeIsBitExact) {
    Golden g;
    ASSERT_NO_FATAL_FAILURE(load_golden(GetParam(), &g));
    std::vector<float> ours(g.nq);
    dequantize_row(g.type, g.q.data(), ours.data(), g.nq);
    expect_bits_equal(g.deq, ours, "ggml-quantised blocks");
    std::vector<float> rours(g.nr);
    dequantize_row(g.type, g.rb.data(), rours.data(), g.nr);
    expect_bits_equal(g.rdeq, rours, "random blocks");
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantGolden, ::testing::ValuesIn(kGoldenTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// ---- hand-built blocks
// -------------------------------------------------------------------------------------

TEST(QuantBlocks, Q8_0) {
    BlockQ8_0 b{};
    b.d = f32_to_f16(0.5f);
    for (int j = 0; j < 32; j++) b.qs[j] = static_cast<int8_t>(j - 16);
    float y[32];
    dequantize_row(DType::Q8_0, &b, y, 32);
    for (int j = 0; j < 32; j++) EXPECT_EQ(y[j], 0.5f * (j - 16));
}

TEST(QuantBlocks, Q4_0NibbleOrder) {
    BlockQ4_0 b{};
    b.d = f32_to_f16(2.0f);
    b.qs[0] = 0x1F;  // element 0: 15 -> 7, element 16: 1 -> -7
    b.qs[3] = 0x80;  // element 3: 0 -> -8, element 19: 8 -> 0
    float y[32];
    dequantize_row(DType::Q4_0, &b, y, 32);
    EXPECT_EQ(y[0], 14.0f);
    EXPECT_EQ(y[16], -14.0f);
    EXPECT_EQ(y[3], -16.0f);
    EXPECT_EQ(y[19], 0.0f);
    EXPECT_EQ(y[1], -16.0f);  // zero nibble
}

TEST(QuantBlocks, Q5_0HighBits) {
    BlockQ5_0 b{};
    b.d = f32_to_f16(1.0f);
    b.qh[0] = 0x01;  // element 0 gets bit 4
    b.qh[2] = 0x02;  // bit 17 -> element 17
    b.qs[0] = 0x00;
    b.qs[1] = 0x30;  // element 17: low nibble 3
    float y[32];
    dequantize_row(DType::Q5_0, &b, y, 32);
    EXPECT_EQ(y[0], 0.0f);     // 16 - 16
    EXPECT_EQ(y[16], -16.0f);  // 0 - 16
    EXPECT_EQ(y[17], 19.0f - 16.0f);
}

TEST(QuantBlocks, Q4_1AndQ5_1Offsets) {
    BlockQ4_1 a{};
    a.d = f32_to_f16(0.25f);
    a.m = f32_to_f16(-1.0f);
    a.qs[5] = 0xA3;
    float y[32];
    dequantize_row(DType::Q4_1, &a, y, 32);
    EXPECT_EQ(y[5], 3 * 0.25f - 1.0f);
    EXPECT_EQ(y[21], 10 * 0.25f - 1.0f);
    BlockQ5_1 b{};
    b.d = f32_to_f16(1.0f);
    b.m = f32_to_f16(0.5f);
    b.qh[3] = 0x80;  // element 31
    b.qs[15] = 0xF0;
    dequantize_row(DType::Q5_1, &b, y, 32);
    EXPECT_EQ(y[31], 31.5f);
    EXPECT_EQ(y[15], 0.5f);
}

TEST(QuantBlocks, IQ4_NLCodeBook) {
    BlockIQ4_NL b{};
    b.d = f32_to_f16(1.0f);
    for (int j = 0; j < 16; j++) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    float y[32];
    dequantize_row(DType::IQ4_NL, &b, y, 32);
    for (int j = 0; j < 16; j++) {
        EXPECT_EQ(y[j], kIQ4NLValues[j]);
        EXPECT_EQ(y[j + 16], kIQ4NLValues[15 - j]);
    }
}

TEST(QuantBlocks, Q4_KScalesAndMins) {
    BlockQ4_K b{};
    b.d = f32_to_f16(1.0f);
    b.dmin = f32_to_f16(0.5f);
    // sub-block 1: scale 3, min 4 (j < 4: plain 6-bit fields); sub-block 6: scale 33 (0x21), min 40 (0x28)
    b.scales[1] = 3;
    b.scales[5] = 4;
    b.scales[10] = 0x1 | (0x8 << 4);  // low nibbles of scale 6 and min 6
    b.scales[2] |= (0x21 >> 4) << 6;  // top 2 bits of scale 6 live in byte j-4
    b.scales[6] |= (0x28 >> 4) << 6;  // top 2 bits of min 6 live in byte j
    for (auto& q : b.qs) q = 0x52;    // low nibble 2, high nibble 5
    int sc, m;
    k4_scale_min(b.scales, 6, &sc, &m);
    EXPECT_EQ(sc, 33);
    EXPECT_EQ(m, 40);
    std::vector<float> y(256);
    dequantize_row(DType::Q4_K, &b, y.data(), 256);
    EXPECT_EQ(y[32], 3.0f * 5 - 0.5f * 4);            // sub-block 1 = high nibbles of chunk 0
    EXPECT_EQ(y[6 * 32 + 7], 33.0f * 2 - 0.5f * 40);  // sub-block 6 = low nibbles of chunk 3
    EXPECT_EQ(y[0], 0.0f);
}

TEST(QuantBlocks, Q6_KLayout) {
    BlockQ6_K b{};
    b.d = f32_to_f16(0.5f);
    for (int s = 0; s < 16; s++) b.scales[s] = static_cast<int8_t>(s - 8);
    // element 64 + 3 of the first half: high nibble of ql[3], qh[3] bits 4..5
    b.ql[3] = 0x70;
    b.qh[3] = 0x30;  // -> q = 7 | (3 << 4) = 55
    std::vector<float> y(256);
    dequantize_row(DType::Q6_K, &b, y.data(), 256);
    EXPECT_EQ(y[67], 0.5f * (4 - 8) * (55 - 32));  // sub-block 4 (67 / 16)
    EXPECT_EQ(y[0], 0.5f * (0 - 8) * (0 - 32));
}

TEST(QuantBlocks, Q3_KSignedScales) {
    BlockQ3_K b{};
    b.d = f32_to_f16(1.0f);
    // scale 0 = 0 - 32 = -32 (all zero bits); give scale 9 the value 40 - 32 = 8: low nibble 8 in byte 1
    // high, high bits 2 in byte 8 + 1 at shift 4
    b.scales[1] = 0x80;
    b.scales[9] = static_cast<uint8_t>(2 << 4);
    int8_t sc[16];
    q3k_scales(b.scales, sc);
    EXPECT_EQ(sc[0], -32);
    EXPECT_EQ(sc[9], 8);
    // element 0: q low bits 0, hmask bit clear -> q - 4 = -4
    std::vector<float> y(256);
    dequantize_row(DType::Q3_K, &b, y.data(), 256);
    EXPECT_EQ(y[0], -32.0f * -4.0f);
    b.hmask[0] = 1;
    b.qs[0] = 3;
    dequantize_row(DType::Q3_K, &b, y.data(), 256);
    EXPECT_EQ(y[0], -32.0f * 3.0f);
}

TEST(QuantBlocks, Q2_K) {
    BlockQ2_K b{};
    b.d = f32_to_f16(2.0f);
    b.dmin = f32_to_f16(1.0f);
    b.scales[0] = 0x53;  // scale 3, min 5
    b.qs[0] = 0x02;      // element 0: q = 2
    std::vector<float> y(256);
    dequantize_row(DType::Q2_K, &b, y.data(), 256);
    EXPECT_EQ(y[0], 2.0f * 3 * 2 - 5.0f);
    EXPECT_EQ(y[1], -5.0f);
}

TEST(QuantBlocks, F8E4M3) {
    const uint8_t bytes[] = {0x00, 0x80, 0x38, 0x7E, 0xFE, 0x01, 0x08, 0x7F, 0xFF};
    float y[9];
    dequantize_row(DType::F8_E4M3, bytes, y, 9);
    EXPECT_EQ(y[0], 0.0f);
    EXPECT_TRUE(std::signbit(y[1]));
    EXPECT_EQ(y[2], 1.0f);
    EXPECT_EQ(y[3], 448.0f);
    EXPECT_EQ(y[4], -448.0f);
    EXPECT_EQ(y[5], std::ldexp(1.0f, -9));  // smallest subnormal
    EXPECT_EQ(y[6], std::ldexp(1.0f, -6));  // smallest normal
    EXPECT_TRUE(std::isnan(y[7]));
    EXPECT_TRUE(std::isnan(y[8]));
}

// ---- round trips
// -------------------------------------------------------------------------------------------

struct Bound {
    DType type;
    double max_rel_rmse;  // RMS error / RMS value over a Gaussian row
};

TEST(QuantRoundTrip, ErrorBounds) {
    // A b-bit uniform quantiser on Gaussian blocks (maxima ~2.5 sigma) gives roughly 2.5 / 2^b / sqrt(3)
    // relative RMS error; the lower bound catches a quantiser that silently stores floats.
    // Measured (seed 42): f16 2.1e-4, bf16 1.7e-3, q8_0 .0053, q8_K .0071, q6_K .0176, q5_0 .043, q5_1 .038,
    // q5_K .036, q4_0 .086, q4_1 .078, q4_K .071, q3_K .150, q2_K .300. Bounds are ~1.25x those.
    const Bound bounds[] = {{DType::F16, 2.6e-4}, {DType::BF16, 2.1e-3}, {DType::Q8_0, 0.0067},
                            {DType::Q8_K, 0.009}, {DType::Q6_K, 0.022},  {DType::Q5_0, 0.054},
                            {DType::Q5_1, 0.048}, {DType::Q5_K, 0.045},  {DType::Q4_0, 0.108},
                            {DType::Q4_1, 0.098}, {DType::Q4_K, 0.089},  {DType::Q3_K, 0.19},
                            {DType::Q2_K, 0.375}};
    const int64_t n = 256 * 64;
    Rng rng(42);
    std::vector<float> x(n), y(n);
    for (auto& v : x) v = rng.normal();
    for (const auto& b : bounds) {
        std::vector<uint8_t> q(row_bytes(b.type, n));
        quantize_row(b.type, x.data(), q.data(), n);
        dequantize_row(b.type, q.data(), y.data(), n);
        double err = 0, ref = 0;
        for (int64_t i = 0; i < n; i++)
            err += (x[i] - y[i]) * double(x[i] - y[i]), ref += x[i] * double(x[i]);
        double rel = std::sqrt(err / ref);
        EXPECT_LT(rel, b.max_rel_rmse) << dtype_name(b.type);
        EXPECT_GT(rel, b.type == DType::F16 ? 0.0 : b.max_rel_rmse / 20)
            << dtype_name(b.type) << " suspiciously exact";
    }
}

TEST(QuantRoundTrip, Q8_0ElementwiseBound) {
    // Each element is within half a quantisation step (plus the f16 rounding of the scale) of its input.
    Rng rng(7);
    std::vector<float> x(32 * 50), y(x.size());
    for (auto& v : x) v = rng.normal() * 3.0f;
    std::vector<BlockQ8_0> q(x.size() / 32);
    quantize_row(DType::Q8_0, x.data(), q.data(), static_cast<int64_t>(x.size()));
    dequantize_row(DType::Q8_0, q.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); i++) {
        const float d = f16_to_f32(q[i / 32].d);
        EXPECT_LE(std::fabs(x[i] - y[i]), 0.5f * d + std::fabs(x[i]) * 1e-3f) << i;
    }
}

TEST(QuantRoundTrip, ZeroRowsStayZero) {
    std::vector<float> x(256, 0.0f), y(256, 1.0f);
    for (DType t :
         {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q2_K, DType::Q3_K}) {
        std::vector<uint8_t> q(row_bytes(t, 256));
        quantize_row(t, x.data(), q.data(), 256);
        dequantize_row(t, q.data(), y.data(), 256);
        for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(t);
    }
}

TEST(QuantErrors, UnsupportedTypesThrow) {
    float x[32] = {};
    uint8_t buf[64];
    EXPECT_FALSE(can_quantize(DType::IQ4_NL));
    EXPECT_THROW(quantize_row(DType::IQ4_NL, x, buf, 32), Error);
    EXPECT_THROW(dequantize_row(DType::I32, buf, x, 4), Error);
    try {
        quantize_row(DType::I8, x, buf, 32);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("i8"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace r1
