// The dense forward (llama, qwen2) against a plain double-precision reference written from the formulas in
// this file, plus the invariants the engine relies on: a prompt run as one batch gives the same logits as the
// same tokens decoded one by one, and sequences batched together do not see each other.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "formats/gguf.h"
#include "model/model.h"
#include "model/random_model.h"
#include "tensor/quant.h"

namespace r1 {
namespace {

std::string tmp_path(const std::string& name) {
    // (ctest runs each test in its own process, two at a time: several tests write a model of the same name)
    return ::testing::TempDir() + "/r1_model_" + name + "_" + std::to_string(::getpid()) + ".gguf";
}

RandomModelSpec small_spec(const std::string& arch, const std::string& quant) {
    RandomModelSpec s;
    s.arch = arch;
    s.quant = quant;
    s.n_vocab = 320;
    s.n_embd = 64;
    s.n_layer = 3;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_ff = 128;
    s.n_ctx = 256;
    s.seed = 11;
    return s;
}

std::string make_model(const std::string& arch, const std::string& quant) {
    const std::string path = tmp_path(arch + "_" + quant);
    write_random_model(small_spec(arch, quant), nullptr, path);
    return path;
}

std::vector<int32_t> some_tokens(int n, int vocab, uint64_t seed) {
    Rng r(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = static_cast<int32_t>(r.below(static_cast<uint64_t>(vocab)));
    return t;
}

// Logits for every position, the whole sequence in batches of `chunk` tokens.
std::vector<float> run(const Model& m, const std::vector<int32_t>& toks, int64_t chunk,
                       CacheType cache_type = CacheType::F32) {
    const ModelConfig& c = m.config();
    const int64_t n = static_cast<int64_t>(toks.size());
    KvCache cache(c, n, cache_type);
    Scratch s(c, chunk, n);
    std::vector<float> out(static_cast<size_t>(n * c.n_vocab));
    for (int64_t b0 = 0; b0 < n; b0 += chunk) {
        Batch b;
        for (int64_t i = b0; i < std::min(n, b0 + chunk); i++)
            b.add(toks[static_cast<size_t>(i)], i, &cache, true);
        m.forward(b, s, out.data() + b0 * c.n_vocab);
    }
    return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); i++) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
    return m;
}

// ---- the reference: the transformer written out plainly in double precision ----
std::vector<double> dq(const gguf::File& f, const std::string& name) {
    const TensorRef* t = f.find_tensor(name);
    if (!t) return {};
    std::vector<float> tmp(static_cast<size_t>(t->numel()));
    for (int64_t r = 0; r < t->rows(); r++)
        dequantize_row(t->type, t->data + r * t->row_stride(), tmp.data() + r * t->cols(), t->cols());
    return {tmp.begin(), tmp.end()};
}

std::vector<double> linear(const std::vector<double>& w, const std::vector<double>& x, int64_t rows,
                           int64_t cols) {
    std::vector<double> y(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; r++) {
        double s = 0;
        for (int64_t c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
        y[r] = s;
    }
    return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); i++) y[i] = x[i] * inv * w[i];
    return y;
}

void rope(double* v, int64_t dim, int64_t pos, double theta, bool neox, const std::vector<double>& freq_div) {
    for (int64_t i = 0; i < dim / 2; i++) {
        double f = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
        if (!freq_div.empty()) f /= freq_div[i];
        const double a = static_cast<double>(pos) * f, c = std::cos(a), s = std::sin(a);
        const int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + dim / 2 : 2 * i + 1;
        const double x0 = v[i0], x1 = v[i1];
        v[i0] = x0 * c - x1 * s;
        v[i1] = x0 * s + x1 * c;
    }
}

std::vector<double> reference_logits(const std::string& path, const std::vector<int32_t>& toks) {
    auto f = gguf::File::open(path);
    const std::string arch = *f->get_string("general.architecture");
    const bool neox = arch == "qwen2";
    const int64_t L = *f->get_int(arch + ".block_count"), d = *f->get_int(arch + ".embedding_length");
    const int64_t ff = *f->get_int(arch + ".feed_forward_length"),
                  H = *f->get_int(arch + ".attention.head_count");
    const int64_t Hkv = *f->get_int(arch + ".attention.head_count_kv"), hd = d / H;
    const double eps = *f->get_float(arch + ".attention.layer_norm_rms_epsilon");
    const double theta = *f->get_float(arch + ".rope.freq_base");
    const auto emb = dq(*f, "token_embd.weight");
    const int64_t V = static_cast<int64_t>(emb.size()) / d;
    auto out_w = dq(*f, "output.weight");
    if (out_w.empty()) out_w = emb;
    const auto freq_div = dq(*f, "rope_freqs.weight");
    const int64_t T = static_cast<int64_t>(toks.size());
    std::vector<std::vector<double>> x(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; t++) x[t].assign(emb.begin() + toks[t] * d, emb.begin() + (toks[t] + 1) * d);
    for (int64_t l = 0; l < L; l++) {
        const std::string p = "blk." + std::to_string(l) + ".";
        const auto an = dq(*f, p + "attn_norm.weight"), fn = dq(*f, p + "ffn_norm.weight");
        const auto wq = dq(*f, p + "attn_q.weight"), wk = dq(*f, p + "attn_k.weight"),
                   wv = dq(*f, p + "attn_v.weight");
        const auto bq = dq(*f, p + "attn_q.bias"), bk = dq(*f, p + "attn_k.bias"),
                   bv = dq(*f, p + "attn_v.bias");
        const auto wo = dq(*f, p + "attn_output.weight");
        const auto wg = dq(*f, p + "ffn_gate.weight"), wu = dq(*f, p + "ffn_up.weight"),
                   wd = dq(*f, p + "ffn_down.weight");
        std::vector<std::vector<double>> q(T), k(T), v(T);
        for (int64_t t = 0; t < T; t++) {
            const auto n = rmsnorm(x[t], an, eps);
            q[t] = linear(wq, n, H * hd, d);
            k[t] = linear(wk, n, Hkv * hd, d);
            v[t] = linear(wv, n, Hkv * hd, d);
            for (size_t i = 0; i < bq.size(); i++) q[t][i] += bq[i];
            for (size_t i = 0; i < bk.size(); i++) k[t][i] += bk[i];
            for (size_t i = 0; i < bv.size(); i++) v[t][i] += bv[i];
            for (int64_t h = 0; h < H; h++) rope(q[t].data() + h * hd, hd, t, theta, neox, freq_div);
            for (int64_t h = 0; h < Hkv; h++) rope(k[t].data() + h * hd, hd, t, theta, neox, freq_div);
        }
        for (int64_t t = 0; t < T; t++) {
            std::vector<double> att(static_cast<size_t>(H * hd), 0.0);
            for (int64_t h = 0; h < H; h++) {
                const int64_t kh = h / (H / Hkv);
                std::vector<double> s(static_cast<size_t>(t + 1));
                double mx = -1e300, sum = 0;
                for (int64_t j = 0; j <= t; j++) {
                    double dot = 0;
                    for (int64_t i = 0; i < hd; i++) dot += q[t][h * hd + i] * k[j][kh * hd + i];
                    s[j] = dot / std::sqrt(static_cast<double>(hd));
                    mx = std::max(mx, s[j]);
                }
                for (auto& e : s) sum += (e = std::exp(e - mx));
                for (int64_t j = 0; j <= t; j++)
                    for (int64_t i = 0; i < hd; i++) att[h * hd + i] += s[j] / sum * v[j][kh * hd + i];
            }
            const auto o = linear(wo, att, d, H * hd);
            for (int64_t i = 0; i < d; i++) x[t][i] += o[i];
            const auto n = rmsnorm(x[t], fn, eps);
            auto g = linear(wg, n, ff, d);
            const auto u = linear(wu, n, ff, d);
            for (int64_t i = 0; i < ff; i++) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
            const auto dn = linear(wd, g, d, ff);
            for (int64_t i = 0; i < d; i++) x[t][i] += dn[i];
        }
    }
    const auto on = dq(*f, "output_norm.weight");
    std::vector<double> logits;
    for (int64_t t = 0; t < T; t++) {
        const auto y = linear(out_w, rmsnorm(x[t], on, eps), V, d);
        logits.insert(logits.end(), y.begin(), y.end());
    }
    return logits;
}

struct Case {
    std::string arch, quant;
    // vs the double reference, which keeps activations exact: the kernels quantise them as ggml does (int8
    // blocks with f16 scales for q8_0, Q8_K for the K-quants), and these tiny random models amplify that.
    // Measured at every SIMD level: f32 4.5e-6, f16 3.7e-6, q8_0 0.102, q4_k_m 0.100.
    double tol_ref;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.arch << "/" << c.quant;
}

class DenseForward : public ::testing::TestWithParam<Case> {};

TEST_P(DenseForward, MatchesPlainReferenceAndDecodeEqualsPrefill) {
    const Case& cs = GetParam();
    const std::string path = make_model(cs.arch, cs.quant);
    auto m = Model::load(path, {.prefault = false, .progress = false});
    const auto toks = some_tokens(19, 320, 3);
    const auto full = run(*m, toks, 64);
    const auto ref = reference_logits(path, toks);
    double worst = 0;
    for (size_t i = 0; i < full.size(); i++) worst = std::max(worst, std::fabs(full[i] - ref[i]));
    EXPECT_LT(worst, cs.tol_ref) << cs.arch << " " << cs.quant;
    // One token at a time, and in uneven chunks: the same activation rounding and the same products, only the
    // summation order could differ (and the kernels keep even that; measured 0 at every SIMD level).
    EXPECT_LT(max_abs_diff(full, run(*m, toks, 1)), 1e-5);
    EXPECT_LT(max_abs_diff(full, run(*m, toks, 5)), 1e-5);
    std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Archs, DenseForward,
                         ::testing::Values(Case{"qwen2", "f32", 2e-5}, Case{"llama", "f32", 2e-5},
                                           Case{"qwen2", "f16", 2e-5}, Case{"llama", "q8_0", 0.15},
                                           Case{"qwen2", "q4_k_m", 0.15}),
                         [](const auto& info) { return info.param.arch + "_" + info.param.quant; });

// A bf16 cache: K and V rounded to 8 significant bits (and, with AVX512_BF16, the queries and the attention
// weights too) stay close to the f32 cache; prefill and decode still agree exactly.
TEST(DenseForward, Bf16CacheStaysCloseToF32) {
    for (const char* arch : {"qwen2", "llama"}) {
        const std::string path = make_model(arch, "f32");
        auto m = Model::load(path, {.prefault = false, .progress = false});
        const auto toks = some_tokens(150, 320, 3);  // past the 64-key blocks of the kernels
        const auto exact = run(*m, toks, 64);
        const auto bf16 = run(*m, toks, 64, CacheType::BF16);
        double scale = 0;
        for (float x : exact) scale = std::max(scale, std::fabs(static_cast<double>(x)));
        const double d = max_abs_diff(exact, bf16);
        std::printf("%s: max|logit| %.3f, bf16 cache max|dlogit| %.2e\n", arch, scale, d);
        EXPECT_GT(d, 0.0) << arch << ": the bf16 cache changed nothing (not used?)";
        EXPECT_LT(d, 0.01 * scale) << arch;
        EXPECT_EQ(bf16, run(*m, toks, 1, CacheType::BF16)) << arch;
        std::remove(path.c_str());
    }
}

TEST(DenseForward, SequencesInOneBatchDoNotInteract) {
    const std::string path = make_model("qwen2", "f32");
    auto m = Model::load(path, {.prefault = false, .progress = false});
    const ModelConfig& c = m->config();
    const auto a = some_tokens(9, 320, 5), b = some_tokens(6, 320, 6);
    const auto ra = run(*m, a, 64), rb = run(*m, b, 64);
    // Interleave the two sequences token by token in one batch.
    KvCache ca(c, 16, CacheType::F32), cb(c, 16, CacheType::F32);
    Scratch s(c, 32, 16);
    Batch batch;
    std::vector<int> which;
    for (size_t i = 0; i < std::max(a.size(), b.size()); i++) {
        if (i < a.size()) batch.add(a[i], static_cast<int64_t>(i), &ca, true), which.push_back(0);
        if (i < b.size()) batch.add(b[i], static_cast<int64_t>(i), &cb, true), which.push_back(1);
    }
    std::vector<float> out(static_cast<size_t>(batch.size() * c.n_vocab));
    m->forward(batch, s, out.data());
    size_t ia = 0, ib = 0;
    double worst = 0;
    for (size_t r = 0; r < which.size(); r++) {
        const float* got = out.data() + r * c.n_vocab;
        const float* want = which[r] == 0 ? ra.data() + (ia++) * c.n_vocab : rb.data() + (ib++) * c.n_vocab;
        for (int64_t v = 0; v < c.n_vocab; v++)
            worst = std::max(worst, std::fabs(static_cast<double>(got[v]) - want[v]));
    }
    EXPECT_LT(worst, 2e-4);
    std::remove(path.c_str());
}

// ---- bad model files get clear errors ----
void copy_without(const std::string& src, const std::string& dst, const std::string& drop_tensor,
                  const std::string& reshape_tensor = "", const std::string& arch_override = "") {
    auto f = gguf::File::open(src);
    gguf::Writer w;
    for (const auto& [k, v] : f->kv()) w.set_value(k, v);
    if (!arch_override.empty()) w.set_string("general.architecture", arch_override);
    for (const auto& t : f->tensors()) {
        if (t.name == drop_tensor) continue;
        std::vector<int64_t> shape = t.shape;
        if (t.name == reshape_tensor) std::swap(shape.front(), shape.back());
        w.add_tensor(t.name, t.type, shape, t.data, t.nbytes);
    }
    w.write(dst);
}

std::string load_error(const std::string& path) {
    try {
        Model::load(path, {.prefault = false, .progress = false});
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(DenseModelFile, ErrorsNameTheProblem) {
    const std::string good = make_model("llama", "f32");
    const std::string bad = tmp_path("bad");
    copy_without(good, bad, "blk.1.ffn_up.weight");
    EXPECT_NE(load_error(bad).find("'blk.1.ffn_up.weight'"), std::string::npos) << load_error(bad);
    EXPECT_NE(load_error(bad).find("missing"), std::string::npos);
    copy_without(good, bad, "", "blk.0.attn_q.weight");  // [64, 64] stays square: use the ffn instead
    copy_without(good, bad, "", "blk.0.ffn_gate.weight");
    const std::string e = load_error(bad);
    EXPECT_NE(e.find("'blk.0.ffn_gate.weight' has shape [64, 128], expected [128, 64]"), std::string::npos)
        << e;
    copy_without(good, bad, "", "", "gpt-neox");
    EXPECT_NE(load_error(bad).find("architecture 'gpt-neox' is not supported"), std::string::npos)
        << load_error(bad);
    std::remove(good.c_str());
    std::remove(bad.c_str());
}

TEST(DenseModelFile, ForwardRejectsBadTokensAndPositions) {
    const std::string path = make_model("qwen2", "f32");
    auto m = Model::load(path, {.prefault = false, .progress = false});
    KvCache cache(m->config(), 8, CacheType::F32);
    Scratch s(m->config(), 8, 8);
    std::vector<float> out(static_cast<size_t>(m->config().n_vocab));
    Batch b;
    b.add(320, 0, &cache, true);  // vocab is [0, 320)
    EXPECT_THROW(m->forward(b, s, out.data()), Error);
    b.clear();
    b.add(1, 8, &cache, true);  // context is 8 positions
    EXPECT_THROW(m->forward(b, s, out.data()), Error);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace r1
