// Model: a loaded model file (the mapping, the config, the weights as views) and its forward pass.
//
//   auto m = Model::load("model.gguf");
//   KvCache cache(m->config(), 4096);  Scratch scratch(m->config(), 512, 4096);
//   Batch b;  for (i...) b.add(tok[i], i, &cache, i == n - 1);
//   m->forward(b, scratch, logits);      // logits [b.n_logits(), n_vocab]
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/deepseek_weights.h"
#include "model/kv_cache.h"
#include "model/mla.h"
#include "model/scratch.h"
#include "model/weights.h"

namespace r1 {
namespace gguf {
class File;
}

struct LoadOptions {
    bool prefault = true;  // read every weight page once at load (with a progress bar) so timings are honest
    bool progress = true;
};

// Rotation frequency of each rope pair (scaling applied: linear, Llama-3 divisors, YaRN).
std::vector<float> rope_frequencies(const ModelConfig& c, const std::vector<float>& freq_divisors);

class Model {
public:
    // Loads a GGUF file; throws r1::Error naming the problem (missing/ill-shaped tensors, unsupported types, ...).
    static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& opt = {});
    ~Model();

    const ModelConfig& config() const { return config_; }
    const gguf::File& file() const { return *file_; }
    size_t weight_bytes() const { return weight_bytes_; }
    // Weight bytes one decoded token reads: everything but the routed experts, plus top-K of E of those
    // (for dense models, all weights). Decode speed x this = the memory bandwidth used.
    size_t active_weight_bytes() const { return active_weight_bytes_; }
    double load_seconds() const { return load_seconds_; }

    // Runs every token of the batch (in chunks of scratch.max_tokens) and writes the logits of the tokens that
    // want them, in batch order, to `logits` [batch.n_logits(), n_vocab].
    void forward(const Batch& batch, Scratch& scratch, float* logits) const;

    // deepseek2: which form of MLA to run (Auto: naive for long prompt chunks, absorbed otherwise). For tests
    // and benchmarks; both forms give the same logits.
    void set_mla_mode(MlaMode m) { mla_mode_ = m; }
    const DeepSeekWeights* deepseek() const { return deepseek_.get(); }
    // Lines describing the loaded model for logs and `r1 inspect` (layout, KV bytes per token, routing notes).
    std::vector<std::string> describe() const;

private:
    Model() = default;
    void forward_chunk(const Batch& b, int64_t begin, int64_t n, Scratch& s, float* logits) const;
    void forward_dense_chunk(const Batch& b, int64_t begin, int64_t n, Scratch& s) const;
    void forward_deepseek_chunk(const Batch& b, int64_t begin, int64_t n, Scratch& s) const;
    void output_head(const Batch& b, int64_t begin, int64_t n, const float* output_norm, const MatRef& output,
                     Scratch& s, float* logits) const;

    std::unique_ptr<gguf::File> file_;
    ModelConfig config_;
    DenseWeights dense_;
    std::unique_ptr<DeepSeekWeights> deepseek_;
    MlaMode mla_mode_ = MlaMode::Auto;
    std::vector<float> inv_freq_;  // [rope_dim/2] rotation frequencies, scaling (linear, llama3, YaRN) applied
    size_t weight_bytes_ = 0, active_weight_bytes_ = 0;
    double load_seconds_ = 0;
};

}  // namespace r1
