#include "model/model.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/timer.h"
#include "formats/gguf.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace r1 {
namespace {

class GgufSource : public TensorSource {
  public:
    explicit GgufSource(const gguf::File& f) : f_(f) {}
    const TensorRef* find(const std::string& name) const override { return f_.find_tensor(name); }
    std::string describe() const override { return f_.path(); }

  private:
    const gguf::File& f_;
};

// Touches every page of the tensor data so the first forward does not pay for page faults; shows progress.
void prefault(const gguf::File& f, bool progress) {
    const size_t begin = f.data_offset(), end = f.mapping().size();
    if (end <= begin) return;
    const size_t total = end - begin;
    f.mapping().prefetch(begin, total);
    ProgressBar bar("loading", static_cast<int64_t>(total >> 20), "MiB");
    const uint8_t* p = f.mapping().data();
    volatile uint8_t sink = 0;
    uint8_t acc = 0;
    const size_t step = 4096, report = size_t{64} << 20;
    for (size_t off = begin; off < end; off += step) {
        acc ^= p[off];
        if (progress && (off - begin) % report < step) bar.update(static_cast<int64_t>((off - begin) >> 20));
    }
    sink = acc;
    (void)sink;
    if (progress) bar.finish();
}

}  // namespace

Model::~Model() = default;

std::vector<float> rope_frequencies(const ModelConfig& c, const std::vector<float>& freq_divisors) {
    const int64_t half = c.rope_dim / 2;
    std::vector<float> out(static_cast<size_t>(half));
    // YaRN (spec §6.3): pairs below `low` keep theta, pairs above `high` use theta/factor, a linear ramp
    // between.
    double low = 0, high = 0;
    const bool yarn = c.yarn && c.yarn_factor > 1.0f;
    if (yarn) {
        const double dim = static_cast<double>(c.rope_dim), base = c.rope_theta;
        const double L0 = static_cast<double>(c.yarn_original_ctx);
        auto corr = [&](double rot) { return dim * std::log(L0 / (rot * 2 * M_PI)) / (2 * std::log(base)); };
        low = std::max(std::floor(corr(c.yarn_beta_fast)), 0.0);
        high = std::min(std::ceil(corr(c.yarn_beta_slow)), dim - 1);
        if (high == low) high += 0.001;
    }
    for (int64_t i = 0; i < half; i++) {
        // theta_i = base^(-2i/rope_dim) * freq_scale / rope_freqs[i]   (ggml rope: theta / freq_factor)
        double f = std::pow(static_cast<double>(c.rope_theta),
                            -2.0 * static_cast<double>(i) / static_cast<double>(c.rope_dim));
        f *= c.rope_freq_scale;
        if (!freq_divisors.empty()) f /= freq_divisors[static_cast<size_t>(i)];
        if (yarn) {
            const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
            f = f / c.yarn_factor * ramp + f * (1 - ramp);
        }
        out[static_cast<size_t>(i)] = static_cast<float>(f);
    }
    return out;
}

std::vector<std::string> Model::describe() const {
    const ModelConfig& c = config_;
    std::vector<std::string> out;
    out.push_back(c.summary());
    if (c.is_deepseek()) {
        out.push_back(strfmt(
            "MLA layout: %s; KV cache: %lld values per token per layer (c_kv %lld + k_rope %lld), "
            "%zu bytes per token (bf16; %zu in f32)",
            mla_layout_name(deepseek_->layout), static_cast<long long>(c.kv_dim()),
            static_cast<long long>(c.kv_lora_rank), static_cast<long long>(c.qk_rope_head_dim),
            kv_cache_bytes_per_token(c, CacheType::BF16), kv_cache_bytes_per_token(c, CacheType::F32)));
        if (c.yarn)
            out.push_back(
                strfmt("YaRN: factor %g, original context %lld, mscale_all_dim %g -> softmax scale %.6f",
                       c.yarn_factor, static_cast<long long>(c.yarn_original_ctx), c.yarn_mscale_all_dim,
                       c.attn_scale()));
        if (c.n_layer > c.n_dense_layers) {
            const bool bias = !deepseek_->layers.back().exp_probs_b.empty();
            out.push_back(
                strfmt("routing: %s scores%s, top-%lld%s, weights %s x %g",
                       c.score_func == ScoreFunc::Sigmoid ? "sigmoid" : "softmax",
                       bias ? " + selection bias" : "", static_cast<long long>(c.n_activated_experts),
                       c.n_expert_groups > 1
                           ? strfmt(" within the best %lld of %lld groups (group score: %s)",
                                    static_cast<long long>(c.n_limited_groups),
                                    static_cast<long long>(c.n_expert_groups), bias ? "sum of top-2" : "max")
                                 .c_str()
                           : (c.groups_from_metadata ? "" : " (no group keys in the file)"),
                       c.norm_topk_prob ? "renormalised" : "not renormalised", c.route_scale));
        }
        if (!deepseek_->mtp_tensors.empty())
            out.push_back(
                strfmt("MTP: %lld next-token-prediction layer(s) kept in the file (not used for decoding)",
                       static_cast<long long>(c.n_nextn_layers)));
    } else {
        out.push_back(strfmt("KV cache: %zu bytes per token (bf16; %zu in f32)",
                             kv_cache_bytes_per_token(c, CacheType::BF16),
                             kv_cache_bytes_per_token(c, CacheType::F32)));
    }
    return out;
}

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& opt) {
    const double t0 = now_s();
    std::unique_ptr<Model> m(new Model());
    m->file_ = gguf::File::open(path);
    m->config_ = ModelConfig::from_gguf(*m->file_);
    const ModelConfig& c = m->config_;
    GgufSource src(*m->file_);
    if (c.is_deepseek())
        m->deepseek_ = std::make_unique<DeepSeekWeights>(DeepSeekWeights::load(src, c));
    else
        m->dense_ = DenseWeights::load(src, c);
    for (const auto& t : m->file_->tensors()) {
        m->weight_bytes_ += t.nbytes;
        // An untied embedding table is read one row per token, not streamed.
        if (t.name == "token_embd.weight" && m->file_->find_tensor("output.weight")) continue;
        const bool routed = t.name.find("_exps.") != std::string::npos && c.n_routed_experts > 0;
        m->active_weight_bytes_ += routed ? t.nbytes / static_cast<size_t>(c.n_routed_experts) *
                                                static_cast<size_t>(c.n_activated_experts)
                                          : t.nbytes;
    }
    m->inv_freq_ = rope_frequencies(c, m->dense_.rope_freqs);
    if (c.is_deepseek() && c.n_expert_groups == 1 && !c.groups_from_metadata && c.n_layer > c.n_dense_layers)
        R1_LOG_INFO(
            "%s: no expert_group_count in the metadata: routing without group limits, as the file says",
            path.c_str());
    if (opt.prefault) prefault(*m->file_, opt.progress);
    m->load_seconds_ = now_s() - t0;
    return m;
}

void Model::forward(const Batch& batch, Scratch& s, float* logits) const {
    const int64_t n = batch.size();
    R1_ASSERT(static_cast<int64_t>(batch.pos.size()) == n && static_cast<int64_t>(batch.cache.size()) == n &&
              static_cast<int64_t>(batch.want_logits.size()) == n);
    for (int64_t i = 0; i < n; i++) {
        const int32_t tok = batch.tokens[static_cast<size_t>(i)];
        if (tok < 0 || tok >= config_.n_vocab)
            fail("token id %d is outside the vocabulary [0, %lld)", tok,
                 static_cast<long long>(config_.n_vocab));
        const int64_t p = batch.pos[static_cast<size_t>(i)];
        const KvCache* c = batch.cache[static_cast<size_t>(i)];
        R1_ASSERT(c != nullptr);
        if (p < 0 || p >= c->n_ctx())
            fail("position %lld is outside the context of %lld tokens", static_cast<long long>(p),
                 static_cast<long long>(c->n_ctx()));
        R1_ASSERT(c->n_ctx() <= s.max_ctx, "cache of %lld positions exceeds the scratch's %lld",
                  static_cast<long long>(c->n_ctx()), static_cast<long long>(s.max_ctx));
    }
    R1_ASSERT(s.max_tokens > 0);
    float* out = logits;
    for (int64_t begin = 0; begin < n; begin += s.max_tokens) {
        const int64_t len = std::min(s.max_tokens, n - begin);
        forward_chunk(batch, begin, len, s, out);
        for (int64_t i = begin; i < begin + len; i++)
            if (batch.want_logits[static_cast<size_t>(i)]) out += config_.n_vocab;
    }
}

void Model::forward_chunk(const Batch& b, int64_t begin, int64_t n, Scratch& s, float* logits) const {
    if (deepseek_) {
        forward_deepseek_chunk(b, begin, n, s);
        output_head(b, begin, n, deepseek_->output_norm.data(), deepseek_->output, s, logits);
    } else {
        forward_dense_chunk(b, begin, n, s);
        output_head(b, begin, n, dense_.output_norm.data(), dense_.output, s, logits);
    }
}

void Model::output_head(const Batch& b, int64_t begin, int64_t n, const float* output_norm,
                        const MatRef& output, Scratch& s, float* logits) const {
    const int64_t d = config_.n_embd;
    int64_t n_out = 0;
    for (int64_t t = 0; t < n; t++) {
        if (!b.want_logits[static_cast<size_t>(begin + t)]) continue;
        rms_norm(s.out_x.data() + n_out * d, s.x.data() + t * d, output_norm, d, config_.rms_eps);
        n_out++;
    }
    if (n_out > 0) matmul(output, s.out_x.data(), d, n_out, logits, config_.n_vocab);
}

}  // namespace r1
