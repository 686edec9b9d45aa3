#include "model/config.h"

#include <cmath>

#include "base/error.h"
#include "formats/gguf.h"

namespace r1 {

const char* arch_name(Arch a) {
    switch (a) {
        case Arch::Llama:
            return "llama";
        case Arch::Qwen2:
            return "qwen2";
        case Arch::DeepSeek2:
            return "deepseek2";
    }
    return "?";
}

float ModelConfig::attn_scale() const {
    const int64_t dk = is_deepseek() ? qk_head_dim() : head_dim;
    double scale = 1.0 / std::sqrt(static_cast<double>(dk));
    if (yarn && yarn_factor > 1.0f && yarn_mscale_all_dim > 0.0f) {
        // DeepSeek model.py: mscale = 0.1 * mscale_all_dim * ln(factor) + 1; softmax_scale *= mscale^2
        const double m = 0.1 * yarn_mscale_all_dim * std::log(static_cast<double>(yarn_factor)) + 1.0;
        scale *= m * m;
    }
    return static_cast<float>(scale);
}

namespace {

int64_t require_positive(const gguf::File& f, const std::string& key) {
    int64_t v = f.require_int(key);
    if (v <= 0)
        fail("%s: metadata key '%s' must be positive, got %lld", f.path().c_str(), key.c_str(),
             static_cast<long long>(v));
    return v;
}

}  // namespace

namespace {

void read_yarn(const gguf::File& f, const std::string& p, ModelConfig& c) {
    const auto type = f.get_string(p + "rope.scaling.type");
    if (!type || *type == "none") return;
    if (*type == "linear") {
        const double factor = f.get_float(p + "rope.scaling.factor").value_or(1.0);
        if (factor <= 0) fail("%s: rope.scaling.factor must be positive", f.path().c_str());
        c.rope_freq_scale = static_cast<float>(1.0 / factor);
    } else if (*type == "yarn") {
        c.yarn = true;
        c.yarn_factor = static_cast<float>(f.get_float(p + "rope.scaling.factor").value_or(1.0));
        c.yarn_original_ctx = f.get_int(p + "rope.scaling.original_context_length").value_or(c.n_ctx_train);
        c.yarn_beta_fast = static_cast<float>(f.get_float(p + "rope.scaling.yarn_beta_fast").value_or(32.0));
        c.yarn_beta_slow = static_cast<float>(f.get_float(p + "rope.scaling.yarn_beta_slow").value_or(1.0));
        // The converter writes 0.1 * mscale_all_dim (spec §4.1); llama.cpp divides by 0.1 on load, as we do.
        c.yarn_mscale_all_dim =
            static_cast<float>(f.get_float(p + "rope.scaling.yarn_log_multiplier").value_or(0.0) / 0.1);
        if (!(c.yarn_factor >= 1.0f) || c.yarn_original_ctx <= 0)
            fail("%s: YaRN needs rope.scaling.factor >= 1 and a positive original_context_length",
                 f.path().c_str());
    } else {
        fail(
            "%s: rope scaling type '%s' is not supported (supported: none, linear, yarn; Llama-3 scaling "
            "comes as "
            "the rope_freqs tensor)",
            f.path().c_str(), type->c_str());
    }
}

void read_deepseek2(const gguf::File& f, const std::string& p, ModelConfig& c) {
    c.n_nextn_layers = f.get_int(p + "nextn_predict_layers").value_or(0);
    c.n_layer -= c.n_nextn_layers;  // MTP-aware files count the MTP blocks in block_count
    c.n_dense_layers = f.get_int(p + "leading_dense_block_count").value_or(0);
    c.q_lora_rank = f.get_int(p + "attention.q_lora_rank").value_or(0);
    c.kv_lora_rank = require_positive(f, p + "attention.kv_lora_rank");
    c.qk_rope_head_dim = require_positive(f, p + "rope.dimension_count");
    // MLA-era files store the MQA view in key/value_length and the per-head sizes in *_mla.
    const int64_t k_len =
        f.get_int(p + "attention.key_length_mla").value_or(f.require_int(p + "attention.key_length"));
    c.v_head_dim =
        f.get_int(p + "attention.value_length_mla").value_or(f.require_int(p + "attention.value_length"));
    c.qk_nope_head_dim = k_len - c.qk_rope_head_dim;
    c.head_dim = k_len;
    c.rope_dim = c.qk_rope_head_dim;
    c.n_head_kv = c.n_head;
    c.n_routed_experts = f.get_int(p + "expert_count").value_or(0);
    c.n_activated_experts = f.get_int(p + "expert_used_count").value_or(0);
    c.n_shared_experts = f.get_int(p + "expert_shared_count").value_or(0);
    c.moe_inter_dim = f.get_int(p + "expert_feed_forward_length").value_or(0);
    c.route_scale = static_cast<float>(f.get_float(p + "expert_weights_scale").value_or(1.0));
    c.norm_topk_prob = f.get_bool(p + "expert_weights_norm").value_or(false);
    const int64_t gating = f.get_int(p + "expert_gating_func").value_or(1);  // absent: softmax (V2 files)
    if (gating == 1)
        c.score_func = ScoreFunc::Softmax;
    else if (gating == 2)
        c.score_func = ScoreFunc::Sigmoid;
    else
        fail("%s: %sexpert_gating_func = %lld is not supported (1 softmax, 2 sigmoid)", f.path().c_str(),
             p.c_str(), static_cast<long long>(gating));
    const auto groups = f.get_int(p + "expert_group_count"), used = f.get_int(p + "expert_group_used_count");
    c.groups_from_metadata = groups.has_value();
    c.n_expert_groups = groups.value_or(1);
    c.n_limited_groups = used.value_or(c.n_expert_groups);
}

}  // namespace

ModelConfig ModelConfig::from_gguf(const gguf::File& f) {
    ModelConfig c;
    const std::string arch = f.require_string("general.architecture");
    if (arch == "llama") {
        c.arch = Arch::Llama;
        c.rope_style = RopeStyle::Norm;
    } else if (arch == "qwen2") {
        c.arch = Arch::Qwen2;
        c.rope_style = RopeStyle::Neox;
    } else if (arch == "deepseek2") {
        c.arch = Arch::DeepSeek2;
        c.rope_style = RopeStyle::Norm;  // DeepSeek rotates adjacent pairs (spec §6.3)
    } else {
        fail("%s: architecture '%s' is not supported (supported: llama, qwen2, deepseek2)", f.path().c_str(),
             arch.c_str());
    }
    const std::string p = arch + ".";
    c.name = f.get_string("general.name").value_or("");
    c.n_layer = require_positive(f, p + "block_count");
    c.n_embd = require_positive(f, p + "embedding_length");
    c.n_ff = require_positive(f, p + "feed_forward_length");
    c.n_head = require_positive(f, p + "attention.head_count");
    c.n_ctx_train = f.get_int(p + "context_length").value_or(4096);
    c.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-6));
    c.rope_theta = static_cast<float>(f.get_float(p + "rope.freq_base").value_or(10000.0));
    read_yarn(f, p, c);
    if (c.is_deepseek()) {
        read_deepseek2(f, p, c);
    } else {
        if (c.yarn) fail("%s: YaRN rope scaling is only supported for deepseek2", f.path().c_str());
        c.n_head_kv = f.get_int(p + "attention.head_count_kv").value_or(c.n_head);
        c.head_dim = f.get_int(p + "attention.key_length").value_or(c.n_embd / c.n_head);
        const int64_t v_len = f.get_int(p + "attention.value_length").value_or(c.head_dim);
        if (v_len != c.head_dim)
            fail("%s: attention.value_length %lld differs from key_length %lld (not supported for %s)",
                 f.path().c_str(), static_cast<long long>(v_len), static_cast<long long>(c.head_dim),
                 arch.c_str());
        c.rope_dim = f.get_int(p + "rope.dimension_count").value_or(c.head_dim);
    }
    // n_vocab: the key when present, else the embedding's rows (checked against each other at weight load).
    c.n_vocab = f.get_int(p + "vocab_size").value_or(0);
    if (c.n_vocab == 0) {
        if (const TensorRef* t = f.find_tensor("token_embd.weight"); t && t->shape.size() == 2)
            c.n_vocab = t->shape[0];
    }
    c.validate();
    return c;
}

void ModelConfig::validate() const {
    auto positive = [](int64_t v, const char* what) {
        if (v <= 0) fail("model config: %s must be positive, got %lld", what, static_cast<long long>(v));
    };
    positive(n_vocab, "n_vocab");
    positive(n_embd, "n_embd");
    positive(n_layer, "n_layer");
    positive(n_ff, "n_ff");
    positive(n_head, "n_head");
    positive(n_head_kv, "n_head_kv");
    positive(head_dim, "head_dim");
    if (n_head % n_head_kv != 0)
        fail("model config: n_head (%lld) must be a multiple of n_head_kv (%lld)",
             static_cast<long long>(n_head), static_cast<long long>(n_head_kv));
    if (rope_dim <= 0 || rope_dim > head_dim || rope_dim % 2 != 0)
        fail("model config: rope dimension %lld must be even and within the head size %lld",
             static_cast<long long>(rope_dim), static_cast<long long>(head_dim));
    if (!(rms_eps > 0) || !(rope_theta > 0)) fail("model config: rms epsilon and rope base must be positive");
    if (!is_deepseek()) return;
    positive(kv_lora_rank, "kv_lora_rank");
    positive(qk_nope_head_dim, "qk_nope_head_dim");
    positive(v_head_dim, "v_head_dim");
    if (q_lora_rank < 0) fail("model config: q_lora_rank must be >= 0");
    if (n_dense_layers < 0 || n_dense_layers > n_layer)
        fail("model config: leading dense layers (%lld) must be within [0, %lld]",
             static_cast<long long>(n_dense_layers), static_cast<long long>(n_layer));
    if (n_dense_layers < n_layer) {  // there are MoE layers
        positive(n_routed_experts, "expert_count");
        positive(n_activated_experts, "expert_used_count");
        positive(moe_inter_dim, "expert_feed_forward_length");
        if (n_activated_experts > n_routed_experts)
            fail("model config: %lld experts per token but only %lld experts",
                 static_cast<long long>(n_activated_experts), static_cast<long long>(n_routed_experts));
        if (n_expert_groups <= 0 || n_routed_experts % n_expert_groups != 0)
            fail("model config: %lld experts do not split into %lld groups",
                 static_cast<long long>(n_routed_experts), static_cast<long long>(n_expert_groups));
        if (n_limited_groups <= 0 || n_limited_groups > n_expert_groups)
            fail("model config: expert_group_used_count %lld must be within [1, %lld]",
                 static_cast<long long>(n_limited_groups), static_cast<long long>(n_expert_groups));
        if (n_limited_groups * (n_routed_experts / n_expert_groups) < n_activated_experts)
            fail("model config: %lld groups of %lld experts cannot supply %lld experts per token",
                 static_cast<long long>(n_limited_groups),
                 static_cast<long long>(n_routed_experts / n_expert_groups),
                 static_cast<long long>(n_activated_experts));
    }
}

std::string ModelConfig::summary() const {
    if (is_deepseek())
        return strfmt(
            "deepseek2: %lld layers (%lld dense), d=%lld, heads=%lld, q_lora=%lld, kv_lora=%lld, "
            "nope/rope/v=%lld/%lld/%lld, experts %lld routed + %lld shared, top-%lld (%s%s), vocab=%lld",
            static_cast<long long>(n_layer), static_cast<long long>(n_dense_layers),
            static_cast<long long>(n_embd), static_cast<long long>(n_head),
            static_cast<long long>(q_lora_rank), static_cast<long long>(kv_lora_rank),
            static_cast<long long>(qk_nope_head_dim), static_cast<long long>(qk_rope_head_dim),
            static_cast<long long>(v_head_dim), static_cast<long long>(n_routed_experts),
            static_cast<long long>(n_shared_experts), static_cast<long long>(n_activated_experts),
            score_func == ScoreFunc::Sigmoid ? "sigmoid" : "softmax",
            n_expert_groups > 1 ? strfmt(", %lld of %lld groups", static_cast<long long>(n_limited_groups),
                                         static_cast<long long>(n_expert_groups))
                                      .c_str()
                                : "",
            static_cast<long long>(n_vocab));
    return strfmt("%s: %lld layers, d=%lld, ffn=%lld, heads=%lld/%lld (head dim %lld), vocab=%lld, ctx=%lld",
                  arch_name(arch), static_cast<long long>(n_layer), static_cast<long long>(n_embd),
                  static_cast<long long>(n_ff), static_cast<long long>(n_head),
                  static_cast<long long>(n_head_kv), static_cast<long long>(head_dim),
                  static_cast<long long>(n_vocab), static_cast<long long>(n_ctx_train));
}

}  // namespace r1
