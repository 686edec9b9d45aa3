// Side-by-side timing of r1's matmul and ggml's CPU backend (prebuilt from the npm package, fetched by
// scripts/quant-goldens/fetch-ggml.sh; see build.sh) on the same weights and activations, in the same
// process.
//
// ggml runs a one-node graph Y = ggml_mul_mat(W, X) on its best CPU backend variant (zen4 on this machine).
// Weights go into the CPU "extra" (repacking) buffer type whenever the device accepts it for the op, as
// llama.cpp does by default; otherwise into the plain CPU buffer (where llamafile's sgemm and the vec_dot
// kernels apply). Both sides get the same thread count. Each measurement alternates blocks of repetitions of
// the two sides, with pauses so spinning worker threads of one runtime go idle before the other runs, and
// reports the best time of each side. The outputs of the two are compared as a check that the work is equal.
//
//   ./ggml_compare [--threads 1,2] [--types q8_0,q4_K,q6_K,f32] [--n 1,512] [--reps 5] [--shapes all|small]
//   ./ggml_compare --model [--threads 2] [--n 1,512]     all matmuls of a Qwen2-1.5B forward pass (Q8_0,
//   Q4_K_M)
//   ./ggml_compare --agree [--types ...]                 no timing: how far our outputs are from ggml's on
//   small shapes (row lengths 64 .. 1536, n = 1 .. 46), relative to the output magnitude. Both sides quantise
//   the activations the same way, so this should be float-summation noise (~1e-7), not quantisation noise.
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/parallel.h"
#include "base/rng.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"
#include "tensor/quant.h"

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    size_t p = 0;
    while (p <= s.size()) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        if (q > p) out.push_back(s.substr(p, q - p));
        p = q + 1;
    }
    return out;
}

struct Ggml {
    ggml_backend_dev_t dev = nullptr;
    ggml_backend_t be = nullptr;
    ggml_backend_set_n_threads_t set_threads = nullptr;
    std::vector<ggml_backend_buffer_type_t> extra;
};

Ggml init_ggml(const char* libdir) {
    Ggml g;
    ggml_backend_load_all_from_path(libdir);
    g.dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!g.dev) {
        std::fprintf(stderr, "no ggml CPU backend found in %s\n", libdir);
        std::exit(1);
    }
    g.be = ggml_backend_dev_init(g.dev, nullptr);
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(g.dev);
    g.set_threads =
        (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    auto get_extra = (ggml_backend_dev_get_extra_bufts_t)ggml_backend_reg_get_proc_address(
        reg, "ggml_backend_dev_get_extra_bufts");
    if (get_extra)
        for (ggml_backend_buffer_type_t* b = get_extra(g.dev); b && *b; b++) g.extra.push_back(*b);
    std::printf("ggml device: %s (%s), extra buffer types: %zu\n", ggml_backend_dev_name(g.dev),
                ggml_backend_dev_description(g.dev), g.extra.size());
    return g;
}

// One ggml matmul problem: W [rows, K] (ne = {K, rows}), X [n, K], Y [n, rows].
struct GgmlProblem {
    ggml_context* ctx_w = nullptr;
    ggml_context* ctx_g = nullptr;
    ggml_backend_buffer_t wbuf = nullptr;
    ggml_gallocr_t galloc = nullptr;
    ggml_cgraph* gf = nullptr;
    ggml_tensor *w = nullptr, *x = nullptr, *y = nullptr;
    std::string buft_name;

    void free_all() {
        if (galloc) ggml_gallocr_free(galloc);
        if (wbuf) ggml_backend_buffer_free(wbuf);
        if (ctx_w) ggml_free(ctx_w);
        if (ctx_g) ggml_free(ctx_g);
    }
};

// Does the device run mul_mat with W in `buft`? (llama.cpp's weight_buft_supported check.)
bool buft_supports(const Ggml& g, ggml_backend_buffer_type_t buft, ggml_type type, int64_t K, int64_t rows,
                   int64_t n) {
    ggml_init_params ip = {4 * ggml_tensor_overhead(), nullptr, true};
    ggml_context* ctx = ggml_init(ip);
    ggml_tensor* w = ggml_new_tensor_2d(ctx, type, K, rows);
    ggml_tensor* x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, n);
    ggml_tensor* op = ggml_mul_mat(ctx, w, x);
    ggml_backend_buffer_t dummy = ggml_backend_buft_alloc_buffer(buft, 0);
    w->buffer = dummy;
    bool ok = ggml_backend_dev_supports_op(g.dev, op);
    ggml_backend_buffer_free(dummy);
    ggml_free(ctx);
    return ok;
}

GgmlProblem make_ggml(const Ggml& g, ggml_type type, int64_t K, int64_t rows, int64_t n, const void* wdata,
                      const float* xdata) {
    GgmlProblem p;
    ggml_init_params ipw = {2 * ggml_tensor_overhead(), nullptr, true};
    p.ctx_w = ggml_init(ipw);
    p.w = ggml_new_tensor_2d(p.ctx_w, type, K, rows);
    ggml_backend_buffer_type_t buft = ggml_backend_dev_buffer_type(g.dev);
    for (auto* b : g.extra)
        if (buft_supports(g, b, type, K, rows, n)) {
            buft = b;
            break;
        }
    p.buft_name = ggml_backend_buft_name(buft);
    p.wbuf = ggml_backend_alloc_ctx_tensors_from_buft(p.ctx_w, buft);
    ggml_backend_buffer_set_usage(p.wbuf, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    ggml_backend_tensor_set(p.w, wdata, 0, ggml_nbytes(p.w));  // repacks in the extra buffer types

    ggml_init_params ipg = {16 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
    p.ctx_g = ggml_init(ipg);
    p.x = ggml_new_tensor_2d(p.ctx_g, GGML_TYPE_F32, K, n);
    ggml_set_input(p.x);
    p.y = ggml_mul_mat(p.ctx_g, p.w, p.x);
    ggml_set_output(p.y);
    p.gf = ggml_new_graph(p.ctx_g);
    ggml_build_forward_expand(p.gf, p.y);
    p.galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(g.be));
    if (!ggml_gallocr_alloc_graph(p.galloc, p.gf)) {
        std::fprintf(stderr, "ggml graph allocation failed\n");
        std::exit(1);
    }
    ggml_backend_tensor_set(p.x, xdata, 0, ggml_nbytes(p.x));
    return p;
}

struct Shape {
    const char* name;
    int64_t rows, K;
};

// The matrices of one Qwen2-1.5B forward pass (28 layers, hidden 1536, FFN 8960, 12 query / 2 KV heads of
// 128, tied 151936-token embedding used as the output matrix).
struct ModelMat {
    Shape shape;
    int count;
    r1::DType type;
};

std::vector<ModelMat> qwen2_mix(bool q4_k_m) {
    using r1::DType;
    const Shape q{"attn_q", 1536, 1536}, kv{"attn_kv", 256, 1536}, o{"attn_out", 1536, 1536},
        up{"ffn_up", 8960, 1536}, down{"ffn_down", 1536, 8960}, out{"output", 151936, 1536};
    if (!q4_k_m)
        return {{q, 28, DType::Q8_0},  {kv, 56, DType::Q8_0},   {o, 28, DType::Q8_0},
                {up, 56, DType::Q8_0}, {down, 28, DType::Q8_0}, {out, 1, DType::Q8_0}};
    // Q4_K_M (llama.cpp's recipe): Q4_K, with Q6_K for the output and for attn_v / ffn_down on the
    // "more bits" layers (i < n/8, i >= 7n/8, (i - n/8) % 3 == 2: 14 of the 28 layers).
    return {{q, 28, DType::Q4_K},    {kv, 28 + 14, DType::Q4_K}, {kv, 14, DType::Q6_K},
            {o, 28, DType::Q4_K},    {up, 56, DType::Q4_K},      {down, 14, DType::Q4_K},
            {down, 14, DType::Q6_K}, {out, 1, DType::Q6_K}};
}

struct Timing {
    double ours = 1e30, theirs = 1e30, rel_diff = 0;
    std::string buft;
};

// Times one problem on both sides. For n <= 16 (decode, batched decode) the weights are cycled through enough copies (>= 96 MB) that
// they come from DRAM, as in a real model; n > 1 is compute-bound.
Timing measure(const Ggml& g, r1::DType dt, const Shape& sh, int64_t n, int nt, int reps) {
    const ggml_type gt = static_cast<ggml_type>(static_cast<int>(dt));
    const size_t rb = r1::row_bytes(dt, sh.K), mat = rb * static_cast<size_t>(sh.rows);
    const int copies = n <= 16 ? static_cast<int>(std::max<size_t>(1, (size_t{96} << 20) / mat)) : 1;
    // 64 distinct quantised rows, repeated (quantising the 233M values of the output matrix takes minutes)
    std::vector<uint8_t> wq(mat * copies);
    {
        r1::Rng rng(1);
        std::vector<float> v(static_cast<size_t>(sh.K));
        for (int64_t r = 0; r < sh.rows * copies; r++) {
            if (r < 64) {
                for (auto& f : v) f = 0.02f * rng.normal();
                r1::quantize_row(dt, v.data(), wq.data() + r * rb, sh.K);
            } else {
                std::memcpy(wq.data() + r * rb, wq.data() + (r % 64) * rb, rb);
            }
        }
    }
    std::vector<float> x(static_cast<size_t>(n * sh.K));
    r1::Rng rng(2);
    for (auto& f : x) f = rng.normal();
    std::vector<float> y_ours(static_cast<size_t>(n * sh.rows)), y_ggml(y_ours.size());
    std::vector<GgmlProblem> ps;
    for (int c = 0; c < copies; c++)
        ps.push_back(make_ggml(g, gt, sh.K, sh.rows, n, wq.data() + c * mat, x.data()));
    r1::set_num_threads(nt);
    if (g.set_threads) g.set_threads(g.be, nt);
    Timing res;
    res.buft = ps[0].buft_name;
    auto ours = [&](int c) {
        r1::MatRef m{dt, sh.rows, sh.K, wq.data() + c * mat, rb};
        r1::matmul(m, x.data(), sh.K, n, y_ours.data(), sh.rows);
    };
    auto theirs = [&](int c) { ggml_backend_graph_compute(g.be, ps[c].gf); };
    ours(0);
    theirs(0);
    const int rounds = 3, per = std::max(1, reps / rounds) * copies;
    auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(30)); };
    for (int round = 0; round < rounds; round++) {
        pause();
        for (int i = 0; i < per; i++) {
            double t0 = now();
            ours(i % copies);
            res.ours = std::min(res.ours, now() - t0);
        }
        pause();
        for (int i = 0; i < per; i++) {
            double t0 = now();
            theirs(i % copies);
            res.theirs = std::min(res.theirs, now() - t0);
        }
    }
    ours(0);
    ggml_backend_tensor_get(ps[0].y, y_ggml.data(), 0, ggml_nbytes(ps[0].y));
    theirs(0);
    ggml_backend_tensor_get(ps[0].y, y_ggml.data(), 0, ggml_nbytes(ps[0].y));
    double maxdiff = 0, maxmag = 0;
    for (size_t i = 0; i < y_ours.size(); i++) {
        maxdiff = std::max(maxdiff, (double)std::fabs(y_ours[i] - y_ggml[i]));
        maxmag = std::max(maxmag, (double)std::fabs(y_ggml[i]));
    }
    res.rel_diff = maxdiff / (maxmag + 1e-30);
    for (auto& p : ps) p.free_all();
    return res;
}

// Our output against ggml's for one problem: max |Δ| / max |y| (one weight matrix, no timing).
double agreement(const Ggml& g, r1::DType dt, int64_t rows, int64_t K, int64_t n, uint64_t seed) {
    const ggml_type gt = static_cast<ggml_type>(static_cast<int>(dt));
    const size_t rb = r1::row_bytes(dt, K);
    std::vector<uint8_t> wq(rb * static_cast<size_t>(rows));
    r1::Rng rng(seed);
    std::vector<float> v(static_cast<size_t>(K));
    for (int64_t r = 0; r < rows; r++) {
        for (auto& f : v) f = 0.02f * rng.normal();
        r1::quantize_row(dt, v.data(), wq.data() + r * rb, K);
    }
    std::vector<float> x(static_cast<size_t>(n * K));
    for (auto& f : x) f = rng.normal();
    std::vector<float> y_ours(static_cast<size_t>(n * rows)), y_ggml(y_ours.size());
    GgmlProblem p = make_ggml(g, gt, K, rows, n, wq.data(), x.data());
    ggml_backend_graph_compute(g.be, p.gf);
    ggml_backend_tensor_get(p.y, y_ggml.data(), 0, ggml_nbytes(p.y));
    r1::MatRef m{dt, rows, K, wq.data(), rb};
    r1::matmul(m, x.data(), K, n, y_ours.data(), rows);
    double maxdiff = 0, maxmag = 0;
    for (size_t i = 0; i < y_ours.size(); i++) {
        maxdiff = std::max(maxdiff, (double)std::fabs(y_ours[i] - y_ggml[i]));
        maxmag = std::max(maxmag, (double)std::fabs(y_ggml[i]));
    }
    std::printf("%-6s rows %5lld K %5lld n %3lld | %-12.12s | max rel diff %.1e\n", r1::dtype_name(dt),
                (long long)rows, (long long)K, (long long)n, p.buft_name.c_str(), maxdiff / (maxmag + 1e-30));
    p.free_all();
    return maxdiff / (maxmag + 1e-30);
}

}  // namespace

int main(int argc, char** argv) {
    std::string libdir = GGML_LIB_DIR;
    std::vector<int> threads = {1, 2};
    std::vector<std::string> types = {"q8_0", "q4_K", "q6_K", "f32"};
    std::vector<int64_t> ns = {1, 512};
    int reps = 5;
    bool all_shapes = true, model = false, table = true, agree = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i], v = i + 1 < argc ? argv[i + 1] : "";
        if (a == "--model") {
            model = true;
            table = false;
            continue;
        }
        if (a == "--agree") {
            agree = true;
            table = false;
            continue;
        }
        i++;
        if (a == "--threads") {
            threads.clear();
            for (auto& t : split(v)) threads.push_back(std::atoi(t.c_str()));
        } else if (a == "--types") {
            types = split(v);
        } else if (a == "--n") {
            ns.clear();
            for (auto& t : split(v)) ns.push_back(std::atoll(t.c_str()));
        } else if (a == "--reps") {
            reps = std::atoi(v.c_str());
        } else if (a == "--shapes") {
            all_shapes = v == "all";
        } else if (a == "--ggml-lib") {
            libdir = v;
        } else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    Ggml g = init_ggml(libdir.c_str());
    std::printf("r1 SIMD level: %s\n", r1::simd_level_name());

    if (table) {
        std::vector<Shape> shapes = {
            {"attn_q", 1536, 1536}, {"attn_kv", 256, 1536}, {"ffn_up", 8960, 1536}, {"ffn_down", 1536, 8960}};
        if (all_shapes) shapes.push_back({"output", 151936, 1536});
        std::printf("\n%-6s %-9s %4s %3s | %-12s | %10s %10s | %10s %10s | %6s | %s\n", "type", "shape", "n",
                    "thr", "ggml buffer", "ours ms", "ggml ms", "ours", "ggml", "ratio", "max rel diff");
        for (const std::string& tname : types) {
            r1::DType dt;
            if (!r1::dtype_from_name(tname, &dt)) {
                std::fprintf(stderr, "unknown type %s\n", tname.c_str());
                return 2;
            }
            for (const Shape& sh : shapes) {
                if (dt == r1::DType::F32 && sh.rows > 100000) continue;  // 0.9 GB of f32: skip
                const size_t bytes = r1::row_bytes(dt, sh.K) * static_cast<size_t>(sh.rows);
                for (int64_t n : ns)
                    for (int nt : threads) {
                        const Timing t = measure(g, dt, sh, n, nt, reps);
                        char a[32], b[32];
                        if (n == 1) {  // decode: weight bytes streamed per second
                            std::snprintf(a, sizeof a, "%.1f GB/s", bytes / t.ours / 1e9);
                            std::snprintf(b, sizeof b, "%.1f GB/s", bytes / t.theirs / 1e9);
                        } else {
                            const double fl = 2.0 * sh.rows * sh.K * n;
                            std::snprintf(a, sizeof a, "%.0f GF/s", fl / t.ours / 1e9);
                            std::snprintf(b, sizeof b, "%.0f GF/s", fl / t.theirs / 1e9);
                        }
                        std::printf(
                            "%-6s %-9s %4lld %3d | %-12.12s | %10.3f %10.3f | %10s %10s | %6.2f | %.1e\n",
                            tname.c_str(), sh.name, (long long)n, nt, t.buft.c_str(), t.ours * 1e3,
                            t.theirs * 1e3, a, b, t.theirs / t.ours, t.rel_diff);
                        std::fflush(stdout);
                    }
            }
        }
    }
    if (agree) {
        r1::set_num_threads(1);
        if (g.set_threads) g.set_threads(g.be, 1);
        for (const std::string& tname : types) {
            r1::DType dt;
            if (!r1::dtype_from_name(tname, &dt)) {
                std::fprintf(stderr, "unknown type %s\n", tname.c_str());
                return 2;
            }
            for (int64_t K : {64, 128, 256, 512, 1536}) {
                if (K % r1::dtype_info(dt).block_size != 0) continue;
                for (int64_t n : {1, 3, 8, 19, 46}) agreement(g, dt, 256, K, n, 7);
            }
        }
    }
    if (model) {
        // All matmuls of one forward pass: prompt processing of 512 tokens (pp512) and one generated token
        // (tg).
        for (bool q4km : {false, true}) {
            const auto mix = qwen2_mix(q4km);
            for (int nt : threads)
                for (int64_t n : ns) {
                    double ours = 0, theirs = 0;
                    std::printf("\nQwen2-1.5B %s, n = %lld, %d thread(s): matmul time per forward pass\n",
                                q4km ? "Q4_K_M" : "Q8_0", (long long)n, nt);
                    for (const ModelMat& mm : mix) {
                        const Timing t = measure(g, mm.type, mm.shape, n, nt, reps);
                        ours += mm.count * t.ours;
                        theirs += mm.count * t.theirs;
                        std::printf("  %-9s %-5s x%-3d  ours %8.3f ms  ggml %8.3f ms  ratio %.2f\n",
                                    mm.shape.name, r1::dtype_name(mm.type), mm.count, t.ours * 1e3,
                                    t.theirs * 1e3, t.theirs / t.ours);
                        std::fflush(stdout);
                    }
                    std::printf("  total: ours %.1f ms (%.1f tok/s)  ggml %.1f ms (%.1f tok/s)  ratio %.2f\n",
                                ours * 1e3, n / ours, theirs * 1e3, n / theirs, theirs / ours);
                }
        }
    }
    ggml_backend_free(g.be);
    return 0;
}
