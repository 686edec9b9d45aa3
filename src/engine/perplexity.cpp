#include "engine/perplexity.h"

#include <cmath>

#include "base/error.h"
#include "model/model.h"

namespace r1 {

PerplexityResult compute_perplexity(const Model& model, const std::vector<int32_t>& tokens, int64_t n_ctx,
                                    int32_t bos, int64_t n_batch, CacheType cache_type,
                                    const std::function<void(int64_t, double)>& on_chunk) {
    const ModelConfig& c = model.config();
    const int64_t n_tok = static_cast<int64_t>(tokens.size());
    if (n_ctx < 4) fail("perplexity: context must be at least 4 tokens");
    if (n_tok < 2 * n_ctx)
        fail(
            "perplexity: the text tokenizes to %lld tokens; at least %lld (2 x context %lld) are needed — "
            "use a "
            "longer text or a smaller --ctx",
            static_cast<long long>(n_tok), static_cast<long long>(2 * n_ctx), static_cast<long long>(n_ctx));
    const int64_t n_chunk = n_tok / n_ctx;
    const int64_t first = n_ctx / 2;
    KvCache cache(c, n_ctx, cache_type);
    Scratch scratch(c, std::min(n_batch, n_ctx), n_ctx);
    std::vector<float> logits(static_cast<size_t>((n_ctx - first) * c.n_vocab));
    PerplexityResult r;
    double nll = 0, nll2 = 0;
    int64_t count = 0;
    Batch b;
    for (int64_t ch = 0; ch < n_chunk; ch++) {
        const int64_t start = ch * n_ctx;
        b.clear();
        for (int64_t k = 0; k < n_ctx; k++) {
            int32_t t = tokens[static_cast<size_t>(start + k)];
            if (k == 0 && bos >= 0) t = bos;
            b.add(t, k, &cache, k >= first);
        }
        model.forward(b, scratch, logits.data());
        // logits row j belongs to position first + j and predicts token start + first + j + 1.
        for (int64_t j = 0; j < n_ctx - 1 - first; j++) {
            const float* row = logits.data() + j * c.n_vocab;
            const int32_t target = tokens[static_cast<size_t>(start + first + j + 1)];
            float mx = row[0];
            for (int64_t v = 1; v < c.n_vocab; v++) mx = std::max(mx, row[v]);
            double sum = 0;
            for (int64_t v = 0; v < c.n_vocab; v++) sum += std::exp(static_cast<double>(row[v] - mx));
            const double lp = static_cast<double>(row[target] - mx) - std::log(sum);
            nll -= lp;
            nll2 += lp * lp;
        }
        count += n_ctx - 1 - first;
        r.running_ppl.push_back(std::exp(nll / static_cast<double>(count)));
        if (on_chunk) on_chunk(ch, r.running_ppl.back());
    }
    const double mean = nll / static_cast<double>(count);
    double var = nll2 / static_cast<double>(count) - mean * mean;
    r.ppl = std::exp(mean);
    r.ppl_err = var > 0 ? std::sqrt(var / static_cast<double>(count - 1)) * r.ppl : 0;
    r.n_chunks = n_chunk;
    r.n_scored = count;
    return r;
}

}  // namespace r1
