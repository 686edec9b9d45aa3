// matmul() at every SIMD level against matmul_ref (dequantised weights, double accumulation) for every weight
// type, several token counts and odd row counts.
//
// Error bound. The kernels quantise each activation block (32 values for the Q*_0/Q*_1/IQ4_NL partner
// format, 256 for the K-quants' Q8_K) to int8 with q = round(x * 127/amax), so each activation moves by at
// most d/2 with d = amax/127; the 32-value format then rounds d to f16 (as ggml does), which moves d * q by
// up to 127 |d - f16(d)| more, and for Q4_1 / Q5_1 the offset term m * d * sum(q) uses f16(d * sum(q)).
// Hence, per output,
//     |y - y_ref| <= sum_c |w_c| * step(c) * (1 + 1e-3)  +  sum_blocks |m| |d sum - f16(d sum)|
//                    +  (K + 8) * 2^-24 * sum_c |w_c x_c|   (float sums)
// with step = d/2 (+ 127 |d - f16(d)|), and only the last term for f32-family weights (no activation
// rounding). Every level uses the same quantisation rule, so the SIMD levels must also match the scalar level
// to float-summation accuracy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/float16.h"
#include "base/parallel.h"
#include "base/rng.h"
#include "kernels/matmul.h"
#include "kernels/simd/cpu_features.h"
#include "tensor/quant.h"

namespace r1 {
namespace {

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::F8_E4M3, DType::Q4_0,
                        DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,    DType::Q2_K,
                        DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K,    DType::IQ4_NL};

bool is_f32_family(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F8_E4M3;
}
int act_block(DType t) {
    return is_f32_family(t) ? 0 : (dtype_info(t).block_size == 256 ? 256 : 32);
}

std::vector<SimdLevel> levels() {
    std::vector<SimdLevel> v = {SimdLevel::Scalar};
    if (simd_level_supported() >= SimdLevel::Avx2) v.push_back(SimdLevel::Avx2);
    if (simd_level_supported() >= SimdLevel::Avx512) v.push_back(SimdLevel::Avx512);
    return v;
}

// Restores the SIMD level after a test changes it.
struct LevelGuard {
    SimdLevel saved = simd_level();
    ~LevelGuard() { set_simd_level(saved); }
};

// A weight matrix of `type` made from Gaussian values (quantised with our reference quantiser where one
// exists, random codes with random scales otherwise), with row stride padded by `pad` bytes.
struct Weights {
    std::vector<uint8_t> bytes;
    MatRef m;
    std::vector<float> deq;  // [rows, cols] dequantised
};

Weights make_weights(DType type, int64_t rows, int64_t cols, uint64_t seed, size_t pad = 0) {
    Weights w;
    Rng rng(seed);
    const size_t rb = row_bytes(type, cols);
    w.bytes.assign((rb + pad) * static_cast<size_t>(rows) + 1, 0);
    std::vector<float> v(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; r++) {
        uint8_t* dst = w.bytes.data() + r * (rb + pad);
        const float scale = 0.02f * (1.0f + static_cast<float>(r % 5));
        for (auto& x : v) x = scale * rng.normal();
        if (can_quantize(type)) {
            quantize_row(type, v.data(), dst, cols);
        } else if (type == DType::F8_E4M3) {
            for (int64_t c = 0; c < cols; c++) {
                uint8_t b = static_cast<uint8_t>(rng.next_u64());
                dst[c] = (b & 0x7f) == 0x7f ? 0x3f : b;  // no NaN codes
            }
        } else {  // IQ4_NL: random codes, random f16 scales
            for (size_t i = 0; i < rb; i++) dst[i] = static_cast<uint8_t>(rng.next_u64());
            for (size_t b = 0; b < rb; b += 18) {
                uint16_t h = f32_to_f16(0.001f * (rng.uniform() - 0.3f));
                std::memcpy(dst + b, &h, 2);
            }
        }
    }
    w.m.type = type;
    w.m.rows = rows;
    w.m.cols = cols;
    w.m.data = w.bytes.data();
    w.m.row_stride = rb + pad;
    w.deq.resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; r++)
        dequantize_row(type, w.m.data + r * w.m.row_stride, w.deq.data() + r * cols, cols);
    return w;
}

// Activations [n, ldx] with a few outlier channels (so block maxima differ a lot).
std::vector<float> make_acts(int64_t n, int64_t cols, int64_t ldx, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> x(static_cast<size_t>(n * ldx), 1e30f);  // padding must never be read
    for (int64_t t = 0; t < n; t++)
        for (int64_t c = 0; c < cols; c++)
            x[t * ldx + c] =
                rng.normal() * (c % 97 == 3 ? 20.0f : 1.0f) * (1.0f + 0.1f * static_cast<float>(t % 3));
    return x;
}

// The per-output bounds described at the top of the file.
void bounds(const Weights& w, const std::vector<float>& x, int64_t n, int64_t ldx,
            std::vector<double>* qbound, std::vector<double>* mag) {
    const int64_t rows = w.m.rows, K = w.m.cols;
    const int ab = act_block(w.m.type);
    qbound->assign(static_cast<size_t>(n * rows), 0.0);
    mag->assign(static_cast<size_t>(n * rows), 0.0);
    const bool asym32 = w.m.type == DType::Q4_1 || w.m.type == DType::Q5_1;
    std::vector<double> half_step(static_cast<size_t>(K), 0.0), dsum_err(static_cast<size_t>(K / 32), 0.0);
    for (int64_t t = 0; t < n; t++) {
        const float* xt = x.data() + t * ldx;
        if (ab)
            for (int64_t b = 0; b < K; b += ab) {
                float amax = 0;
                for (int64_t c = b; c < b + ab; c++) amax = std::max(amax, std::fabs(xt[c]));
                const float d = amax / 127.0f;
                double step = d / 2.0;
                if (ab == 32) {
                    step += 127.0 * std::fabs(d - f16_to_f32(f32_to_f16(d)));
                    // |sum q| <= sum |x| / d + 16: the f16 rounding of d * sum(q) moves it by at most this
                    double sx = 0;
                    for (int64_t c = b; c < b + ab; c++) sx += std::fabs(xt[c]);
                    dsum_err[b / 32] = (sx + 16.0 * d) * std::ldexp(1.0, -11);
                }
                for (int64_t c = b; c < b + ab; c++) half_step[c] = step;
            }
        for (int64_t r = 0; r < rows; r++) {
            const float* wr = w.deq.data() + r * K;
            double q = 0, m = 0;
            for (int64_t c = 0; c < K; c++) {
                q += std::fabs(wr[c]) * half_step[c];
                m += std::fabs(static_cast<double>(wr[c]) * xt[c]);
            }
            if (asym32) {  // m of each block: the second f16 of the block
                const uint8_t* row = w.m.data + r * w.m.row_stride;
                const size_t bb = static_cast<size_t>(dtype_info(w.m.type).block_bytes);
                for (int64_t b = 0; b < K / 32; b++) {
                    uint16_t mh;
                    std::memcpy(&mh, row + b * bb + 2, 2);
                    q += std::fabs(f16_to_f32(mh)) * dsum_err[b];
                }
            }
            (*qbound)[t * rows + r] = q * (1 + 1e-3) + static_cast<double>(K + 8) * 6e-8 * m + 1e-30;
            (*mag)[t * rows + r] = m + q;
        }
    }
}

void check_type(DType type, int64_t rows, int64_t cols, const std::vector<int64_t>& ns, uint64_t seed) {
    LevelGuard guard;
    const Weights w = make_weights(type, rows, cols, seed, /*pad=*/rows % 2 ? 0 : 6);
    for (int64_t n : ns) {
        const int64_t ldx = cols + (n % 2 ? 0 : 5), ldy = rows + (n % 3 ? 0 : 3);
        const std::vector<float> x = make_acts(n, cols, ldx, seed * 31 + static_cast<uint64_t>(n));
        std::vector<float> ref(static_cast<size_t>(n * ldy), 0.0f);
        matmul_ref(w.m, x.data(), ldx, n, ref.data(), ldy);
        std::vector<double> qb, mag;
        bounds(w, x, n, ldx, &qb, &mag);
        std::vector<float> scal;
        for (SimdLevel lv : levels()) {
            set_simd_level(lv);
            std::vector<float> y(static_cast<size_t>(n * ldy), -7.0f);
            matmul(w.m, x.data(), ldx, n, y.data(), ldy);
            if (lv == SimdLevel::Scalar) scal = y;
            int failures = 0;
            for (int64_t t = 0; t < n && failures < 3; t++) {
                for (int64_t r = 0; r < rows && failures < 3; r++) {
                    const size_t i = static_cast<size_t>(t * ldy + r), j = static_cast<size_t>(t * rows + r);
                    const double err = std::fabs(static_cast<double>(y[i]) - ref[i]);
                    if (!(err <= qb[j])) {
                        ADD_FAILURE()
                            << dtype_name(type) << " " << simd_level_str(lv) << " rows " << rows << " cols "
                            << cols << " n " << n << ": y[" << t << "," << r << "] = " << y[i] << ", ref "
                            << ref[i] << ", |err| " << err << " > bound " << qb[j];
                        failures++;
                    }
                    const double dev = std::fabs(static_cast<double>(y[i]) - scal[i]);
                    if (!(dev <= 2e-5 * mag[j] + 1e-30)) {
                        ADD_FAILURE() << dtype_name(type) << " " << simd_level_str(lv) << " rows " << rows
                                      << " n " << n << ": y[" << t << "," << r << "] = " << y[i]
                                      << " vs scalar level " << scal[i] << " (same quantised activations)";
                        failures++;
                    }
                }
            }
            // outputs outside [0, rows) of each token row are untouched
            for (int64_t t = 0; t < n; t++)
                for (int64_t r = rows; r < ldy; r++)
                    ASSERT_EQ(y[t * ldy + r], -7.0f) << "wrote past row " << rows;
        }
    }
}

class MatmulType : public ::testing::TestWithParam<DType> {};

TEST_P(MatmulType, MatchesReferenceAllLevels) {
    const std::vector<int64_t> ns = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 33, 64};
    for (int64_t rows : {1, 7, 31, 33, 128}) check_type(GetParam(), rows, 512, ns, 100 + rows);
}

TEST_P(MatmulType, OtherRowLengths) {
    const DType t = GetParam();
    // 1792 = 7 K-quant super-blocks (odd count), 256 = one super-block, 96 = 3 small blocks, 32 = one block
    check_type(t, 45, 1792, {1, 5, 13}, 7);
    check_type(t, 17, 256, {1, 3, 20}, 9);
    if (dtype_info(t).block_size <= 32) {
        check_type(t, 19, 96, {1, 4, 9}, 8);
        check_type(t, 35, 32, {1, 2, 17}, 10);
    }
    if (dtype_info(t).block_size == 1) check_type(t, 9, 37, {1, 3, 15}, 11);  // f32 family: any length
}

// NaN or Inf in an activation (or in a weight) must give a non-finite output, not vanish into a block scale.
TEST_P(MatmulType, NonFinitePropagates) {
    LevelGuard guard;
    const DType type = GetParam();
    const int64_t rows = 40, cols = 512, n = 9;
    Weights w = make_weights(type, rows, cols, 3);
    // poison weight row 5: a NaN scale (quantised types) or a NaN element
    uint8_t* row5 = w.bytes.data() + 5 * w.m.row_stride;
    const uint16_t nan16 = 0x7e00;
    switch (type) {
        case DType::F32: {
            const float nan = std::nanf("");
            std::memcpy(row5 + 4 * 17, &nan, 4);
            break;
        }
        case DType::F16:
            std::memcpy(row5 + 2 * 17, &nan16, 2);
            break;
        case DType::BF16: {
            const uint16_t b = 0x7fc0;
            std::memcpy(row5 + 2 * 17, &b, 2);
            break;
        }
        case DType::F8_E4M3:
            row5[17] = 0x7f;
            break;
        case DType::Q2_K:
            std::memcpy(row5 + 80, &nan16, 2);
            break;
        case DType::Q3_K:
            std::memcpy(row5 + 108, &nan16, 2);
            break;
        case DType::Q6_K:
            std::memcpy(row5 + 208, &nan16, 2);
            break;
        default:
            std::memcpy(row5, &nan16, 2);
            break;  // d is the first field
    }
    std::vector<float> x = make_acts(n, cols, cols, 4);
    x[2 * cols + 100] = std::nanf("");  // token 2
    x[4 * cols + 300] = INFINITY;       // token 4
    x[6 * cols + 0] = -INFINITY;        // token 6
    for (SimdLevel lv : levels()) {
        set_simd_level(lv);
        std::vector<float> y(static_cast<size_t>(n * rows));
        matmul(w.m, x.data(), cols, n, y.data(), rows);
        for (int64_t t = 0; t < n; t++)
            for (int64_t r = 0; r < rows; r++) {
                const float v = y[t * rows + r];
                const bool bad_in = t == 2 || t == 4 || t == 6 || r == 5;
                EXPECT_EQ(std::isfinite(v), !bad_in)
                    << dtype_name(type) << " " << simd_level_str(lv) << " y[" << t << "," << r << "] = " << v;
                if (t == 2) EXPECT_TRUE(std::isnan(v)) << dtype_name(type) << " " << simd_level_str(lv);
            }
    }
}

// A row's result must not depend on how many tokens share the call: decode (n = 1), batched decode (n
// = 2..16) and prefill use the same activation rounding and, per level, the same order of operations for each
// output, so every token row of an n-token product equals the same token alone, bit for bit (the engine
// relies on this: a prompt decoded token by token gives the logits of the prompt run as one batch).
TEST_P(MatmulType, TokenCountDoesNotChangeRows) {
    LevelGuard guard;
    const DType type = GetParam();
    const int64_t rows = 37, cols = dtype_info(type).block_size == 256 ? 768 : 160;
    const Weights w = make_weights(type, rows, cols, 21);
    const std::vector<float> x = make_acts(40, cols, cols, 22);
    for (SimdLevel lv : levels()) {
        set_simd_level(lv);
        std::vector<float> single(static_cast<size_t>(40 * rows));
        for (int64_t t = 0; t < 40; t++)
            matmul(w.m, x.data() + t * cols, cols, 1, single.data() + t * rows, rows);
        for (int64_t n : {2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 40}) {
            std::vector<float> y(static_cast<size_t>(n * rows));
            matmul(w.m, x.data(), cols, n, y.data(), rows);
            ASSERT_EQ(std::memcmp(y.data(), single.data(), y.size() * sizeof(float)), 0)
                << dtype_name(type) << " " << simd_level_str(lv) << ": n = " << n
                << " gives other rows than one token at a time";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulType, ::testing::ValuesIn(kTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Every output is computed by one thread with the same code whatever the split, so thread count must not
// change a single bit (a race or a split-dependent path would).
TEST(Matmul, ThreadCountDoesNotChangeResults) {
    LevelGuard guard;
    const int saved = num_threads();
    for (DType type : {DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F32, DType::Q5_0}) {
        const Weights w = make_weights(type, 300, 512, 11);
        for (int64_t n : {1, 5, 40}) {
            const std::vector<float> x = make_acts(n, 512, 512, 12);
            for (SimdLevel lv : levels()) {
                set_simd_level(lv);
                std::vector<float> y1(static_cast<size_t>(n * 300)), y2(y1.size());
                set_num_threads(1);
                matmul(w.m, x.data(), 512, n, y1.data(), 300);
                set_num_threads(2);
                matmul(w.m, x.data(), 512, n, y2.data(), 300);
                ASSERT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0)
                    << dtype_name(type) << " " << simd_level_str(lv) << " n " << n;
            }
        }
    }
    set_num_threads(saved);
}

// matmul_batch runs many products in one pass; each result must equal matmul()'s bit for bit: mixed weight
// types and partner formats, shared and separate inputs, 1 to 8 tokens (and 9, which takes the fallback), row
// counts that are not whole tiles, strided outputs, at every level and thread count.
TEST(Matmul, BatchEqualsOneCallPerMatrix) {
    LevelGuard guard;
    const int saved = num_threads();
    const int64_t cols = 512;
    std::vector<Weights> ws;
    const DType types[] = {DType::Q4_K, DType::Q8_0, DType::Q6_K, DType::F32,
                           DType::Q4_K, DType::F16,  DType::Q5_0};
    const int64_t rows[] = {37, 300, 16, 50, 129, 33, 64};
    for (size_t i = 0; i < std::size(types); i++) ws.push_back(make_weights(types[i], rows[i], cols, 40 + i));
    const std::vector<float> shared = make_acts(9, cols, cols + 8, 50),
                             own = make_acts(9 * 7, cols, cols, 51);
    for (int64_t n : {1, 3, 8, 9})
        for (int threads : {1, 2, 3})
            for (SimdLevel lv : levels()) {
                set_simd_level(lv);
                set_num_threads(threads);
                std::vector<MatmulJob> jobs;
                std::vector<std::vector<float>> got, want;
                for (size_t i = 0; i < ws.size(); i++) {
                    const int64_t ldy = rows[i] + 3;
                    got.emplace_back(static_cast<size_t>(n * ldy), -1.0f);
                    want.emplace_back(static_cast<size_t>(n * ldy), -1.0f);
                    // jobs 0, 1, 4 and 5 share one input; the others have their own
                    const bool share = i == 0 || i == 1 || i == 4 || i == 5;
                    const float* x = share ? shared.data() : own.data() + i * 9 * cols;
                    const int64_t ldx = share ? cols + 8 : cols;
                    jobs.push_back({ws[i].m, x, ldx, n, got.back().data(), ldy});
                    matmul(ws[i].m, x, ldx, n, want.back().data(), ldy);
                }
                matmul_batch(jobs.data(), static_cast<int64_t>(jobs.size()));
                for (size_t i = 0; i < ws.size(); i++)
                    ASSERT_EQ(std::memcmp(got[i].data(), want[i].data(), got[i].size() * 4), 0)
                        << "job " << i << " (" << dtype_name(types[i]) << ") n " << n << " threads "
                        << threads << " " << simd_level_str(lv);
            }
    set_num_threads(saved);
}

// Per-head products: the heads of one matrix as consecutive jobs, each with its own input (the kernels may
// then prefetch on into the next head's rows). Each head's result equals matmul() on that head alone, bit for
// bit, also when a head is not a whole number of tiles.
TEST(Matmul, BatchOfHeadsOfOneMatrixEqualsOneCallPerHead) {
    LevelGuard guard;
    const int saved = num_threads();
    const int64_t cols = 256, heads = 5;
    for (DType type : {DType::Q8_0, DType::Q4_K, DType::Q5_0, DType::F16})
        for (int64_t head_rows : {48, 40})
            for (int threads : {1, 2})
                for (SimdLevel lv : levels()) {
                    set_simd_level(lv);
                    set_num_threads(threads);
                    const Weights w = make_weights(type, heads * head_rows, cols, 60);
                    const std::vector<float> x = make_acts(heads, cols, cols, 61);
                    std::vector<float> got(static_cast<size_t>(heads * head_rows), -1.0f), want = got;
                    std::vector<MatmulJob> jobs;
                    for (int64_t h = 0; h < heads; h++) {
                        MatRef head = w.m;
                        head.rows = head_rows;
                        head.data = w.m.data + static_cast<size_t>(h * head_rows) * w.m.row_stride;
                        jobs.push_back(
                            {head, x.data() + h * cols, cols, 1, got.data() + h * head_rows, head_rows});
                        matmul(head, x.data() + h * cols, cols, 1, want.data() + h * head_rows, head_rows);
                    }
                    matmul_batch(jobs.data(), heads);
                    ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0)
                        << dtype_name(type) << " head rows " << head_rows << " threads " << threads << " "
                        << simd_level_str(lv);
                }
    set_num_threads(saved);
}

TEST(Matmul, RejectsBadInput) {
    std::vector<uint8_t> data(1024);
    MatRef w{DType::I32, 4, 8, data.data(), 32};
    float x[8] = {}, y[4];
    EXPECT_FALSE(matmul_supports(DType::I32));
    EXPECT_THROW(matmul(w, x, 8, 1, y, 4), Error);
    MatRef q{DType::Q4_K, 1, 100, data.data(), 144};  // 100 is not a multiple of 256
    EXPECT_THROW(matmul(q, x, 100, 1, y, 1), Error);
}

TEST(Matmul, MatOf) {
    std::vector<uint8_t> data(3 * 4 * 34);
    TensorRef t;
    t.name = "blk.0.ffn_up.weight";
    t.type = DType::Q8_0;
    t.shape = {3, 4, 32};
    t.data = data.data();
    t.nbytes = data.size();
    EXPECT_THROW(mat_of(t), Error);  // 3-D
    MatRef m = mat_of_slice(t, 2);
    EXPECT_EQ(m.rows, 4);
    EXPECT_EQ(m.cols, 32);
    EXPECT_EQ(m.row_stride, 34u);
    EXPECT_EQ(m.data, data.data() + 2 * 4 * 34);
    t.shape = {12, 32};
    m = mat_of(t);
    EXPECT_EQ(m.rows, 12);
    t.nbytes -= 1;
    try {
        mat_of(t);
        FAIL() << "short data accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("blk.0.ffn_up.weight"), std::string::npos) << e.what();
    }
    t.shape = {12, 30};
    EXPECT_THROW(mat_of(t), Error);  // not a multiple of 32
}

TEST(Matmul, SimdLevelControl) {
    LevelGuard guard;
    EXPECT_EQ(set_simd_level(SimdLevel::Scalar), SimdLevel::Scalar);
    EXPECT_STREQ(simd_level_name(), "scalar");
    EXPECT_EQ(set_simd_level(SimdLevel::Avx512), simd_level_supported());
}

}  // namespace
}  // namespace r1
