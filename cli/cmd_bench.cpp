// r1 bench: prompt-processing and generation speed (like llama-bench), as a table or JSON.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/parallel.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "engine/bench.h"
#include "kernels/matmul.h"
#include "model/model.h"

namespace r1::cli {

void add_bench(CLI::App& app) {
    struct Opts {
        std::string model;
        int64_t n_prompt = 512, n_gen = 128, depth = 0;
        int threads = 0, reps = 3;
        bool json = false;
        std::string cache_type = "bf16";
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("bench", "Measure prompt processing (pp) and generation (tg) speed");
    cmd->footer(
        "pp<N>: one forward over N random tokens in a fresh cache; tg<N>: N single-token decodes from an "
        "empty\n"
        "cache (as llama-bench). One warm-up run, then --reps timed runs; mean +- stddev tokens/s.\n"
        "GB/s for tg = weight bytes read per token (MoE: the routed experts' share only) x tokens/s: "
        "compare\n"
        "with the machine's memory bandwidth.");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
    cmd->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens for pp (0: skip)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("-n,--n-gen", o->n_gen, "tokens for tg (0: skip)")->check(CLI::NonNegativeNumber);
    cmd->add_option("-d,--depth", o->depth,
                    "context depth: tokens already in the cache before each test (untimed)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)");
    cmd->add_option("-r,--reps", o->reps, "timed repetitions")->check(CLI::PositiveNumber);
    add_cache_type_flag(cmd, o->cache_type);
    cmd->add_flag("--json", o->json, "print JSON (one object per test) instead of a table");
    cmd->callback([o] {
        apply_threads(o->threads);
        auto model = Model::load(o->model, {.prefault = true, .progress = !o->json});
        BenchParams p;
        p.n_prompt = o->n_prompt;
        p.n_gen = o->n_gen;
        p.reps = o->reps;
        p.depth = o->depth;
        p.cache_type = cache_type_from_name(o->cache_type);
        p.progress = !o->json;
        const auto results = run_bench(*model, p);
        const double gb = static_cast<double>(model->active_weight_bytes()) / 1e9;
        if (o->json) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& r : results)
                arr.push_back(
                    {{"engine", "r1.cpp"},
                     {"test", r.test},
                     {"t", r.threads},
                     {"avg_ts", r.avg_ts},
                     {"stddev_ts", r.stddev_ts},
                     {"samples_ts", r.samples_ts},
                     {"model", o->model},
                     {"depth", o->depth},
                     {"cache_type", o->cache_type},
                     {"kv_bytes_per_token", kv_cache_bytes_per_token(model->config(), p.cache_type)},
                     {"size_bytes", model->weight_bytes()},
                     {"active_bytes", model->active_weight_bytes()},
                     {"simd", simd_level_name()}});
            std::printf("%s\n", arr.dump(2).c_str());
            return;
        }
        std::printf("model: %s (%s, %s)\nkernels: %s, threads: %d\n\n", o->model.c_str(),
                    model->config().summary().c_str(),
                    human_bytes(static_cast<double>(model->weight_bytes())).c_str(), simd_level_name(),
                    num_threads());
        std::printf("KV cache: %zu bytes per token (%s)\n\n",
                    kv_cache_bytes_per_token(model->config(), p.cache_type), o->cache_type.c_str());
        std::printf("| %-16s | %18s | %10s |\n", "test", "t/s", "GB/s");
        std::printf("|------------------|--------------------|------------|\n");
        for (const auto& r : results) {
            const bool tg = r.test.rfind("tg", 0) == 0;
            std::printf("| %-16s | %9.2f +- %6.2f | %10s |\n", r.test.c_str(), r.avg_ts, r.stddev_ts,
                        tg ? strfmt("%.1f", gb * r.avg_ts).c_str() : "");
        }
    });
}

}  // namespace r1::cli
