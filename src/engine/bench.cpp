#include "engine/bench.h"

#include <cmath>

#include "base/parallel.h"
#include "base/progress.h"
#include "base/rng.h"
#include "base/timer.h"
#include "model/model.h"

namespace r1 {
namespace {

BenchResult summarize(const std::string& test, int64_t n, const std::vector<double>& seconds) {
    BenchResult r;
    r.test = test;
    r.n_tokens = n;
    r.threads = num_threads();
    for (double s : seconds) r.samples_ts.push_back(static_cast<double>(n) / s);
    double sum = 0;
    for (double v : r.samples_ts) sum += v;
    r.avg_ts = sum / static_cast<double>(r.samples_ts.size());
    double var = 0;
    for (double v : r.samples_ts) var += (v - r.avg_ts) * (v - r.avg_ts);
    r.stddev_ts = r.samples_ts.size() > 1 ? std::sqrt(var / static_cast<double>(r.samples_ts.size() - 1)) : 0;
    return r;
}

}  // namespace

std::vector<BenchResult> run_bench(const Model& model, const BenchParams& p) {
    const ModelConfig& c = model.config();
    const int64_t n_ctx = p.depth + std::max<int64_t>(std::max(p.n_prompt, p.n_gen), 1);
    KvCache cache(c, n_ctx, p.cache_type);
    Scratch scratch(c, std::min(p.n_batch, std::max<int64_t>(std::max(p.n_prompt, p.depth), 1)), n_ctx);
    std::vector<float> logits(static_cast<size_t>(c.n_vocab));
    Rng rng(p.seed);
    std::vector<BenchResult> out;
    const std::string at = p.depth > 0 ? " @ d" + std::to_string(p.depth) : "";
    // Fills positions [0, depth) with random tokens (untimed): the context the timed test runs after.
    Batch fill;
    for (int64_t i = 0; i < p.depth; i++)
        fill.add(static_cast<int32_t>(rng.below(static_cast<uint64_t>(c.n_vocab))), i, &cache,
                 i == p.depth - 1);
    auto prefill_depth = [&] {
        if (p.depth > 0) model.forward(fill, scratch, logits.data());
    };
    const int total_runs = (p.n_prompt > 0 ? p.reps + 1 : 0) + (p.n_gen > 0 ? p.reps + 1 : 0);
    ProgressBar bar("benchmark", total_runs, "runs");
    int runs = 0;
    auto tick = [&] {
        if (p.progress) bar.update(++runs);
    };

    if (p.n_prompt > 0) {
        Batch b;
        for (int64_t i = 0; i < p.n_prompt; i++)
            b.add(static_cast<int32_t>(rng.below(static_cast<uint64_t>(c.n_vocab))), p.depth + i, &cache,
                  i == p.n_prompt - 1);
        std::vector<double> secs;
        for (int rep = 0; rep <= p.reps; rep++) {
            prefill_depth();
            const double t0 = now_s();
            model.forward(b, scratch, logits.data());
            if (rep > 0) secs.push_back(now_s() - t0);  // rep 0 warms up
            tick();
        }
        out.push_back(summarize("pp" + std::to_string(p.n_prompt) + at, p.n_prompt, secs));
    }
    if (p.n_gen > 0) {
        std::vector<double> secs;
        Batch b;
        for (int rep = 0; rep <= p.reps; rep++) {
            prefill_depth();
            const double t0 = now_s();
            int32_t tok = static_cast<int32_t>(rng.below(static_cast<uint64_t>(c.n_vocab)));
            for (int64_t i = 0; i < p.n_gen; i++) {
                b.clear();
                b.add(tok, p.depth + i, &cache, true);
                model.forward(b, scratch, logits.data());
                tok = static_cast<int32_t>((static_cast<uint64_t>(tok) * 7919 + 1) %
                                           static_cast<uint64_t>(c.n_vocab));
            }
            if (rep > 0) secs.push_back(now_s() - t0);
            tick();
        }
        out.push_back(summarize("tg" + std::to_string(p.n_gen) + at, p.n_gen, secs));
    }
    if (p.progress) bar.finish();
    return out;
}

}  // namespace r1
