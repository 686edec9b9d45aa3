// llamacpp-ref `bench`: llama.cpp's prompt-processing and generation speed with llama-bench's method, as the
// baseline r1.cpp's `r1 bench` is compared with (bench/compare_llamacpp.sh).
//   ppP: one context of P cells; each rep clears the KV memory and decodes P random tokens (first = BOS when
//        the vocabulary adds one) in batches of --batch, timing the whole prompt.
//   tgN: one context of N cells; each rep clears the KV memory and decodes N single tokens one after another
//        (from an empty context, as llama-bench's tgN does), timing all N.
// A warm-up run (full prompt / one generated token) precedes each test. Rates are tokens / wall time per rep;
// the report gives their mean and sample standard deviation over the reps. Threads run in a ggml thread pool
// attached to the context, as in llama-bench.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "ref_common.h"

namespace ref {

namespace {

struct BenchOptions {
    std::string model_path;
    int n_prompt = 512;
    int n_gen = 128;
    int depth = 0;  // tokens in the context before each timed test (filled untimed), as llama-bench -d
    int n_threads = 2;
    int reps = 3;
    uint32_t n_batch = 2048;
    uint32_t n_ubatch = 512;
    ggml_type kv_type = GGML_TYPE_F16;
    llama_flash_attn_type flash_attn = LLAMA_FLASH_ATTN_TYPE_AUTO;
    uint32_t poll = 50;
    bool warmup = true;
    uint32_t seed = 1234;
};

struct TestResult {
    std::string name;  // "pp512", "tg128"
    int n_prompt = 0;
    int n_gen = 0;
    uint32_t n_ubatch = 0;
    std::vector<double> samples_ns;
    double avg_ts = 0;
    double stddev_ts = 0;
    double avg_ns = 0;
};

llama_token random_token(std::mt19937& rng, int32_t n_vocab) {
    return static_cast<llama_token>(std::uniform_int_distribution<int32_t>(0, n_vocab - 1)(rng));
}

// Positions continue from the sequence's memory and only the last token gets logits (llama_batch_get_one), as
// in llama-bench; no allocation per call.
void decode_one_batch(llama_context* ctx, llama_token* tokens, int n) {
    const int32_t rc = llama_decode(ctx, llama_batch_get_one(tokens, n));
    if (rc != 0) throw Error(strfmt("llama_decode of %d tokens failed with code %d", n, rc));
}

void run_prompt(llama_context* ctx, const llama_vocab* vocab, int n_prompt, uint32_t n_batch,
                std::mt19937& rng) {
    const int32_t n_vocab = llama_vocab_n_tokens(vocab);
    int done = 0;
    while (done < n_prompt) {
        const int n = std::min<int>(n_prompt - done, static_cast<int>(n_batch));
        std::vector<llama_token> tokens(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = random_token(rng, n_vocab);
        if (done == 0 && llama_vocab_get_add_bos(vocab)) tokens[0] = llama_vocab_bos(vocab);
        decode_one_batch(ctx, tokens.data(), n);
        done += n;
    }
    llama_synchronize(ctx);
}

void run_generation(llama_context* ctx, const llama_vocab* vocab, int n_gen, std::mt19937& rng) {
    const int32_t n_vocab = llama_vocab_n_tokens(vocab);
    llama_token token = llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : random_token(rng, n_vocab);
    for (int i = 0; i < n_gen; ++i) {
        decode_one_batch(ctx, &token, 1);
        llama_synchronize(ctx);
        token = random_token(rng, n_vocab);
    }
}

TestResult run_test(const ModelHandle& model, const BenchOptions& o, int n_prompt, int n_gen) {
    TestResult r;
    r.n_prompt = n_prompt;
    r.n_gen = n_gen;
    r.name = n_prompt > 0 ? strfmt("pp%d", n_prompt) : strfmt("tg%d", n_gen);
    if (o.depth > 0) r.name += strfmt(" @ d%d", o.depth);

    ContextOptions c;
    c.n_ctx = static_cast<uint32_t>(o.depth + n_prompt + n_gen);
    c.n_batch = std::min(o.n_batch, c.n_ctx);
    c.n_ubatch = std::min(o.n_ubatch, c.n_batch);
    c.n_threads = o.n_threads;
    c.poll = o.poll;
    c.kv_type = o.kv_type;
    c.flash_attn = o.flash_attn;
    r.n_ubatch = c.n_ubatch;
    ContextHandle context(model, c);
    llama_memory_t memory = llama_get_memory(context.ctx);
    const llama_vocab* vocab = model.vocab();
    std::mt19937 rng(o.seed);

    auto fill_depth = [&] {
        if (o.depth > 0) run_prompt(context.ctx, vocab, o.depth, c.n_batch, rng);
    };
    if (o.warmup) {
        llama_memory_clear(memory, false);
        fill_depth();
        if (n_prompt > 0) run_prompt(context.ctx, vocab, n_prompt, c.n_batch, rng);
        if (n_gen > 0) run_generation(context.ctx, vocab, 1, rng);
    }
    for (int rep = 0; rep < o.reps; ++rep) {
        llama_memory_clear(memory, false);
        fill_depth();
        const auto t0 = std::chrono::steady_clock::now();
        if (n_prompt > 0) run_prompt(context.ctx, vocab, n_prompt, c.n_batch, rng);
        if (n_gen > 0) run_generation(context.ctx, vocab, n_gen, rng);
        const auto t1 = std::chrono::steady_clock::now();
        r.samples_ns.push_back(
            static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    }

    const double n_tokens = n_prompt + n_gen;
    double sum = 0, sum_ns = 0;
    for (double ns : r.samples_ns) {
        sum += n_tokens * 1e9 / ns;
        sum_ns += ns;
    }
    const double n = static_cast<double>(r.samples_ns.size());
    r.avg_ts = sum / n;
    r.avg_ns = sum_ns / n;
    double var = 0;
    for (double ns : r.samples_ns) var += std::pow(n_tokens * 1e9 / ns - r.avg_ts, 2);
    r.stddev_ts = n > 1 ? std::sqrt(var / (n - 1)) : 0.0;
    return r;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out;
}

std::string cpu_variant_name() {
    const std::string d = cpu_backend_description();
    return d.substr(0, d.find(' '));
}

}  // namespace

int cmd_bench(Args& args) {
    set_log_level(args.flag("-v") ? GGML_LOG_LEVEL_DEBUG : GGML_LOG_LEVEL_ERROR);
    BenchOptions o;
    o.model_path = args.required("-m");
    o.n_prompt = static_cast<int>(args.integer("-p", 512, 0, 1 << 20));
    o.n_gen = static_cast<int>(args.integer("-n", 128, 0, 1 << 20));
    o.depth = static_cast<int>(args.integer("-d", 0, 0, 1 << 22));
    o.n_threads = static_cast<int>(args.integer("-t", 2, 1, 512));
    o.reps = static_cast<int>(args.integer("-r", 3, 1, 1000));
    o.n_batch = static_cast<uint32_t>(args.integer("--batch", 2048, 1, 1 << 20));
    o.n_ubatch = static_cast<uint32_t>(args.integer("--ubatch", 512, 1, 1 << 20));
    o.kv_type = parse_kv_type(args.str("--kv", "f16"));
    o.flash_attn = parse_flash_attn(args.str("--fa", "auto"));
    o.poll = static_cast<uint32_t>(args.integer("--poll", 50, 0, 100));
    o.warmup = !args.flag("--no-warmup");
    o.seed = static_cast<uint32_t>(args.integer("--seed", 1234, 0, UINT32_MAX));
    const bool json = args.flag("--json");
    args.finish();
    if (o.n_prompt == 0 && o.n_gen == 0) throw Error("nothing to run: both -p and -n are 0");

    ModelHandle model(o.model_path);
    const std::string backend = cpu_backend_description();
    std::fprintf(stderr, "llamacpp-ref bench: llama.cpp CPU backend %s\n", backend.c_str());

    std::vector<TestResult> results;
    if (o.n_prompt > 0) results.push_back(run_test(model, o, o.n_prompt, 0));
    if (o.n_gen > 0) results.push_back(run_test(model, o, 0, o.n_gen));

    char desc[256];
    llama_model_desc(model.model, desc, sizeof(desc));
    const uint64_t size_bytes = llama_model_size(model.model);
    const uint64_t n_params = llama_model_n_params(model.model);
    if (json) {
        std::printf("[\n");
        for (size_t i = 0; i < results.size(); ++i) {
            const TestResult& r = results[i];
            std::string samples;
            for (size_t k = 0; k < r.samples_ns.size(); ++k) {
                samples += strfmt("%s%.3f", k ? "," : "", (r.n_prompt + r.n_gen) * 1e9 / r.samples_ns[k]);
            }
            std::string row = strfmt(
                "{\"engine\":\"llama.cpp\",\"test\":\"%s\",\"t\":%d,\"avg_ts\":%.3f,\"stddev_ts\":%.3f,",
                r.name.c_str(), o.n_threads, r.avg_ts, r.stddev_ts);
            row += strfmt("\"model\":\"%s\",\"size_bytes\":%llu,\"n_params\":%llu,\"model_desc\":\"%s\",",
                          json_escape(o.model_path).c_str(), static_cast<unsigned long long>(size_bytes),
                          static_cast<unsigned long long>(n_params), json_escape(desc).c_str());
            row += strfmt("\"n_prompt\":%d,\"n_gen\":%d,\"reps\":%d,\"avg_ns\":%.0f,\"samples_ts\":[%s],",
                          r.n_prompt, r.n_gen, o.reps, r.avg_ns, samples.c_str());
            row += strfmt("\"backend\":\"CPU %s\",\"kv_type\":\"%s\",\"flash_attn\":\"%s\",\"n_ubatch\":%u,",
                          json_escape(cpu_variant_name()).c_str(), kv_type_name(o.kv_type),
                          llama_flash_attn_type_name(o.flash_attn), r.n_ubatch);
            row += strfmt("\"poll\":%u,\"depth\":%d}", o.poll, o.depth);
            std::printf("  %s%s\n", row.c_str(), i + 1 < results.size() ? "," : "");
        }
        std::printf("]\n");
    } else {
        std::printf("| model | size | params | backend | threads | test | t/s |\n");
        std::printf("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
        for (const TestResult& r : results) {
            std::printf("| %s | %.2f MiB | %.2f M | CPU %s | %d | %s | %.2f ± %.2f |\n", desc,
                        size_bytes / 1048576.0, n_params / 1e6, cpu_variant_name().c_str(), o.n_threads,
                        r.name.c_str(), r.avg_ts, r.stddev_ts);
        }
    }
    return 0;
}

}  // namespace ref
