// Perplexity follows llama.cpp's definition: chunks of n_ctx tokens, BOS substituted at each chunk start,
// only the second half scored. Checked against the same computation done by hand from per-position logits.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "base/error.h"
#include "base/rng.h"
#include "engine/perplexity.h"
#include "model/model.h"
#include "model/random_model.h"

namespace r1 {
namespace {

TEST(Perplexity, MatchesTheDefinitionComputedByHand) {
    RandomModelSpec spec;
    spec.arch = "llama";
    spec.n_vocab = 300;
    spec.n_embd = 32, spec.n_layer = 2, spec.n_head = 4, spec.n_head_kv = 2, spec.n_ff = 64, spec.seed = 9;
    const std::string path = ::testing::TempDir() + "/r1_ppl_" + std::to_string(::getpid()) + ".gguf";
    write_random_model(spec, nullptr, path);
    auto m = Model::load(path, {.prefault = false, .progress = false});
    const ModelConfig& c = m->config();
    Rng rng(3);
    std::vector<int32_t> toks(70);
    for (auto& t : toks) t = static_cast<int32_t>(rng.below(300));
    const int64_t n_ctx = 16, bos = 1;
    const PerplexityResult r = compute_perplexity(*m, toks, n_ctx, bos, 8, CacheType::F32);
    EXPECT_EQ(r.n_chunks, 4);                 // 70 / 16
    EXPECT_EQ(r.n_scored, 4 * (16 - 1 - 8));  // positions 8..14 predict 9..15 in each chunk
    // By hand: each chunk alone, BOS first, log-softmax of positions first..n_ctx-2 at the next token.
    double nll = 0;
    int64_t count = 0;
    for (int64_t ch = 0; ch < 4; ch++) {
        KvCache cache(c, n_ctx, CacheType::F32);
        Scratch s(c, n_ctx, n_ctx);
        Batch b;
        for (int64_t k = 0; k < n_ctx; k++) b.add(k == 0 ? bos : toks[ch * n_ctx + k], k, &cache, true);
        std::vector<float> lg(static_cast<size_t>(n_ctx * c.n_vocab));
        m->forward(b, s, lg.data());
        for (int64_t j = n_ctx / 2; j < n_ctx - 1; j++) {
            const float* row = lg.data() + j * c.n_vocab;
            double mx = -1e300, sum = 0;
            for (int64_t v = 0; v < c.n_vocab; v++) mx = std::max(mx, static_cast<double>(row[v]));
            for (int64_t v = 0; v < c.n_vocab; v++) sum += std::exp(row[v] - mx);
            nll -= row[toks[ch * n_ctx + j + 1]] - mx - std::log(sum);
            count++;
        }
    }
    EXPECT_NEAR(r.ppl, std::exp(nll / count), 1e-6 * r.ppl);
    EXPECT_EQ(r.running_ppl.size(), 4u);
    EXPECT_NEAR(r.running_ppl.back(), r.ppl, 1e-9);
    EXPECT_GT(r.ppl_err, 0);
    // Too little text is an error that says what is needed.
    std::vector<int32_t> few(toks.begin(), toks.begin() + 20);
    EXPECT_THROW(compute_perplexity(*m, few, n_ctx, bos, 8, CacheType::F32), Error);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace r1
