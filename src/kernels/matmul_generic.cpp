// The scalar level: activation quantisation into the A8 / K8 partner formats and a row-dot kernel for every
// weight type (unpack each block, integer dot against the quantised activations). It is the level used on
// CPUs without AVX2 and the one the SIMD levels are compared with in the tests (same quantised activations).
#include <cmath>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/float16.h"
#include "kernels/simd/kernels.h"
#include "kernels/simd/unpack.h"
#include "tensor/quant.h"

namespace r1::simd {

ActKind act_kind(DType w) {
    switch (w) {
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::IQ4_NL:
            return ActKind::A8;
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return ActKind::K8;
        default:
            return ActKind::F32;
    }
}

const float* fp8_e4m3_table() {
    static const struct Table {
        float v[256];
        Table() {
            for (int i = 0; i < 256; i++) v[i] = fp8_e4m3_to_f32(static_cast<uint8_t>(i));
        }
    } table;
    return table.v;
}

namespace scalar {
namespace {

// Largest |x| over n values; NaN if any is NaN, else Inf if any is infinite (integer max of |x|'s bits: NaN
// patterns sort above Inf, which sorts above every finite value).
float abs_max_nan(const float* x, int n) {
    uint32_t m = 0;
    for (int i = 0; i < n; i++) {
        uint32_t b;
        std::memcpy(&b, &x[i], 4);
        b &= 0x7fffffffu;
        m = b > m ? b : m;
    }
    float r;
    std::memcpy(&r, &m, 4);
    return r;
}

// Quantises n values with one scale: q = round-to-even(x * 127 / amax) (all 0 when the block holds NaN or
// Inf). Returns amax.
float quant_block(const float* x, int n, int8_t* q) {
    const float amax = abs_max_nan(x, n);
    const float id = act_inv_scale(amax);
    for (int i = 0; i < n; i++) {
        const float v = std::nearbyint(x[i] * id);
        q[i] = v >= -127.0f && v <= 127.0f ? static_cast<int8_t>(v) : 0;
    }
    return amax;
}

float round_f16(float x) {
    return f16_to_f32(f32_to_f16(x));
}

}  // namespace

void quant_a8(const float* x, int64_t K, uint8_t* dst) {
    const A8Layout L(K);
    auto* q = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + L.off_d);
    auto* sum = reinterpret_cast<int32_t*>(dst + L.off_sum);
    auto* nbias = reinterpret_cast<int32_t*>(dst + L.off_nbias);
    auto* dsum = reinterpret_cast<float*>(dst + L.off_dsum);
    for (int64_t b = 0; b < L.nb; b++) {
        const float d32 = quant_block(x + 32 * b, 32, q + 32 * b) / 127.0f;
        int s = 0;
        for (int i = 0; i < 32; i++) s += q[32 * b + i];
        d[b] = round_f16(d32);
        sum[b] = s;
        nbias[b] = -128 * s;
        dsum[b] = round_f16(d32 * static_cast<float>(s));
    }
}

void quant_k8(const float* x, int64_t K, uint8_t* dst) {
    const K8Layout L(K);
    K8Fields f(dst, L);
    int8_t* q = f.q;
    for (int64_t b = 0; b < L.nsb; b++) f.d[b] = k8_scale(quant_block(x + 256 * b, 256, q + 256 * b));
    for (int64_t g = 0; g < K / 16; g++) {
        int s = 0;
        for (int i = 0; i < 16; i++) s += q[16 * g + i];
        f.set_sum16(g, s);
    }
    f.finish(K);
}

namespace {

// Per-thread scratch for one unpacked or dequantised row; grows once to the largest row seen.
template <typename T>
T* scratch_row(std::vector<T>& v, size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
}

void rowdot_f32(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    thread_local std::vector<float> rowbuf;
    const int64_t K = w.cols;
    float* row = scratch_row(rowbuf, static_cast<size_t>(K));
    const float* lut = fp8_e4m3_table();
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* src = w.data + r * w.row_stride;
        if (w.type == DType::F8_E4M3)  // table instead of ldexp per element
            for (int64_t c = 0; c < K; c++) row[c] = lut[src[c]];
        else
            dequantize_row(w.type, src, row, K);
        for (int64_t t = 0; t < a.n; t++) {
            const float* x = a.x + t * a.ldx;
            float s = 0;
            for (int64_t c = 0; c < K; c++) s += row[c] * x[c];
            y[t * ldy + r] = s;
        }
    }
}

// Integer path: u8 weights (unpacked) x s8 activations, float scales per sub-block.
void rowdot_int(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    thread_local std::vector<uint8_t> ubuf;
    thread_local std::vector<float> sbuf;
    const UnpackSpec sp = unpack_spec(w.type);
    const int64_t K = w.cols, nblk = K / sp.block, nsub = K / sp.sub;
    const size_t bbytes = static_cast<size_t>(dtype_info(w.type).block_bytes);
    uint8_t* u = scratch_row(ubuf, static_cast<size_t>(K));
    float* S = scratch_row(sbuf, static_cast<size_t>(2 * nsub));
    float* M = S + nsub;
    const A8Layout la(K);
    const K8Layout lk(K);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t* src = w.data + r * w.row_stride;
        for (int64_t b = 0; b < nblk; b++) {
            const int64_t s0 = b * sp.block / sp.sub;
            unpack_block(w.type, src + b * bbytes, u + b * sp.block, S + s0, M + s0);
        }
        for (int64_t t = 0; t < a.n; t++) {
            const uint8_t* tok = a.tok(t);
            const auto* q = reinterpret_cast<const int8_t*>(tok);
            float acc = 0;
            if (a.kind == ActKind::A8) {  // sub == block == 32, one activation scale per block
                const auto* d = reinterpret_cast<const float*>(tok + la.off_d);
                const auto* nbias = reinterpret_cast<const int32_t*>(tok + la.off_nbias);
                const auto* dsum = reinterpret_cast<const float*>(tok + la.off_dsum);
                for (int64_t s = 0; s < nsub; s++) {
                    int32_t dot = sp.asym ? 0 : nbias[s];
                    for (int i = 0; i < 32; i++) dot += u[32 * s + i] * q[32 * s + i];
                    acc += static_cast<float>(dot) * S[s] * d[s];
                    if (sp.asym) acc -= M[s] * dsum[s];
                }
            } else {  // K8: one activation scale per 256
                const auto* d = reinterpret_cast<const float*>(tok + lk.off_d);
                const auto* nbias16 = reinterpret_cast<const int32_t*>(tok + lk.off_nbias16);
                const auto* bsf =
                    reinterpret_cast<const float*>(tok + (sp.sub == 16 ? lk.off_bsf16 : lk.off_bsf32));
                const int64_t per_sb = 256 / sp.sub;
                for (int64_t sb = 0; sb < K / 256; sb++) {
                    float part = 0;
                    for (int64_t s = sb * per_sb; s < (sb + 1) * per_sb; s++) {
                        int32_t dot = 0;
                        if (!sp.asym) dot = sp.sub == 16 ? nbias16[s] : nbias16[2 * s] + nbias16[2 * s + 1];
                        for (int i = 0; i < sp.sub; i++) dot += u[sp.sub * s + i] * q[sp.sub * s + i];
                        part += static_cast<float>(dot) * S[s];
                        if (sp.asym) part -= M[s] * bsf[s];
                    }
                    acc += part * d[sb];
                }
            }
            y[t * ldy + r] = acc;
        }
    }
}

}  // namespace

void rowdot(const MatRef& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    if (a.kind == ActKind::F32)
        rowdot_f32(w, r0, r1, a, y, ldy);
    else
        rowdot_int(w, r0, r1, a, y, ldy);
}

}  // namespace scalar
}  // namespace r1::simd
