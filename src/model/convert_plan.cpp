// HF -> GGUF conversion plan: the name tables, shape checks against config.json, and row reading (see
// convert_plan.h). Names and shapes follow llama.cpp's convert_hf_to_gguf.py (LlamaModel, Qwen2Model,
// DeepseekV2Model) and its loader's create_tensor() shapes, so that llama.cpp loads what we write.
#include "model/convert_plan.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

#include "base/error.h"
#include "base/float16.h"
#include "formats/safetensors.h"
#include "tensor/quant.h"

namespace r1 {
namespace {

// Dimensions named by the config (resolved by dim_value()).
enum class Dim {
    D,    // hidden_size
    D2,   // 2 * hidden_size (MTP eh_proj input)
    FF,   // intermediate_size (dense FFN)
    V,    // vocab_size
    QD,   // H * head_dim (dense q)
    KVD,  // H_kv * head_dim (dense k, v)
    QL,   // q_lora_rank
    KVL,  // kv_lora_rank
    KVA,  // kv_lora_rank + qk_rope_head_dim (kv_a_proj_with_mqa rows)
    QH,   // H * (qk_nope + qk_rope) (DeepSeek q rows)
    OV,   // H * v_head_dim (o_proj input)
    E,    // n_routed_experts
    SH,   // moe_intermediate_size * n_shared_experts
};

int64_t dim_value(Dim d, const HfConfig& c) {
    switch (d) {
        case Dim::D:
            return c.hidden_size;
        case Dim::D2:
            return 2 * c.hidden_size;
        case Dim::FF:
            return c.intermediate_size;
        case Dim::V:
            return c.vocab_size;
        case Dim::QD:
            return c.num_attention_heads * c.head_dim;
        case Dim::KVD:
            return c.num_key_value_heads * c.head_dim;
        case Dim::QL:
            return c.q_lora_rank;
        case Dim::KVL:
            return c.kv_lora_rank;
        case Dim::KVA:
            return c.kv_lora_rank + c.qk_rope_head_dim;
        case Dim::QH:
            return c.num_attention_heads * (c.qk_nope_head_dim + c.qk_rope_head_dim);
        case Dim::OV:
            return c.num_attention_heads * c.v_head_dim;
        case Dim::E:
            return c.n_routed_experts.value_or(0);
        case Dim::SH:
            return c.moe_intermediate_size * c.n_shared_experts;
    }
    return 0;
}

enum class Perm { None, Q, K };  // llama q/k row permutation with H or H_kv heads

// One HF tensor of a layer and its GGUF name. `hf` follows "model.layers.N.", `gguf` follows "blk.N.".
struct Rule {
    const char* hf;
    const char* gguf;
    int ndim;
    Dim d0, d1;  // outermost-first; d1 unused when ndim == 1
    bool f32;    // kept in F32 (norms, router, biases)
    bool optional;
    Perm perm = Perm::None;
};

// qwen2 / llama layers.
constexpr Rule kDenseLayer[] = {
    {"input_layernorm.weight", "attn_norm.weight", 1, Dim::D, Dim::D, true, false},
    {"self_attn.q_proj.weight", "attn_q.weight", 2, Dim::QD, Dim::D, false, false, Perm::Q},
    {"self_attn.k_proj.weight", "attn_k.weight", 2, Dim::KVD, Dim::D, false, false, Perm::K},
    {"self_attn.v_proj.weight", "attn_v.weight", 2, Dim::KVD, Dim::D, false, false},
    {"self_attn.o_proj.weight", "attn_output.weight", 2, Dim::D, Dim::QD, false, false},
    {"post_attention_layernorm.weight", "ffn_norm.weight", 1, Dim::D, Dim::D, true, false},
    {"mlp.gate_proj.weight", "ffn_gate.weight", 2, Dim::FF, Dim::D, false, false},
    {"mlp.up_proj.weight", "ffn_up.weight", 2, Dim::FF, Dim::D, false, false},
    {"mlp.down_proj.weight", "ffn_down.weight", 2, Dim::D, Dim::FF, false, false},
};
// qwen2 always; llama when attention_bias.
constexpr Rule kQkvBias[] = {
    {"self_attn.q_proj.bias", "attn_q.bias", 1, Dim::QD, Dim::QD, true, false, Perm::Q},
    {"self_attn.k_proj.bias", "attn_k.bias", 1, Dim::KVD, Dim::KVD, true, false, Perm::K},
    {"self_attn.v_proj.bias", "attn_v.bias", 1, Dim::KVD, Dim::KVD, true, false},
};
constexpr Rule kOutBias[] = {
    {"self_attn.o_proj.bias", "attn_output.bias", 1, Dim::D, Dim::D, true, false},
};

// DeepSeek layers (kv_b_proj and the routed experts are handled in code: they are split / stacked).
constexpr Rule kDsAttention[] = {
    {"input_layernorm.weight", "attn_norm.weight", 1, Dim::D, Dim::D, true, false},
    {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight", 2, Dim::KVA, Dim::D, false, false},
    {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight", 1, Dim::KVL, Dim::KVL, true, false},
    {"self_attn.o_proj.weight", "attn_output.weight", 2, Dim::D, Dim::OV, false, false},
    {"post_attention_layernorm.weight", "ffn_norm.weight", 1, Dim::D, Dim::D, true, false},
};
constexpr Rule kDsQLora[] = {
    {"self_attn.q_a_proj.weight", "attn_q_a.weight", 2, Dim::QL, Dim::D, false, false},
    {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight", 1, Dim::QL, Dim::QL, true, false},
    {"self_attn.q_b_proj.weight", "attn_q_b.weight", 2, Dim::QH, Dim::QL, false, false},
};
constexpr Rule kDsQPlain[] = {
    {"self_attn.q_proj.weight", "attn_q.weight", 2, Dim::QH, Dim::D, false, false},
};
constexpr Rule kDsDenseFfn[] = {
    {"mlp.gate_proj.weight", "ffn_gate.weight", 2, Dim::FF, Dim::D, false, false},
    {"mlp.up_proj.weight", "ffn_up.weight", 2, Dim::FF, Dim::D, false, false},
    {"mlp.down_proj.weight", "ffn_down.weight", 2, Dim::D, Dim::FF, false, false},
};
constexpr Rule kDsRouter[] = {
    {"mlp.gate.weight", "ffn_gate_inp.weight", 2, Dim::E, Dim::D, true, false},
    {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias", 1, Dim::E, Dim::E, true, true},
};
constexpr Rule kDsShared[] = {
    {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight", 2, Dim::SH, Dim::D, false, false},
    {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight", 2, Dim::SH, Dim::D, false, false},
    {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight", 2, Dim::D, Dim::SH, false, false},
};
// Multi-token prediction layers (model.layers.{num_hidden_layers + k}); names as llama.cpp's NextN tensors.
constexpr Rule kDsMtp[] = {
    {"enorm.weight", "nextn.enorm.weight", 1, Dim::D, Dim::D, true, false},
    {"hnorm.weight", "nextn.hnorm.weight", 1, Dim::D, Dim::D, true, false},
    {"eh_proj.weight", "nextn.eh_proj.weight", 2, Dim::D, Dim::D2, false, false},
    {"embed_tokens.weight", "nextn.embed_tokens.weight", 2, Dim::V, Dim::D, false, true},
    {"shared_head.norm.weight", "nextn.shared_head_norm.weight", 1, Dim::D, Dim::D, true, true},
    {"shared_head.head.weight", "nextn.shared_head_head.weight", 2, Dim::V, Dim::D, false, true},
};
// Routed experts: model.layers.N.mlp.experts.{e}.<hf> stacked into blk.N.<gguf> [E, rows, cols].
struct ExpertRule {
    const char* hf;
    const char* gguf;
    bool down;  // [D, moe_ff] per expert instead of [moe_ff, D]
};
constexpr ExpertRule kDsExperts[] = {
    {"gate_proj.weight", "ffn_gate_exps.weight", false},
    {"up_proj.weight", "ffn_up_exps.weight", false},
    {"down_proj.weight", "ffn_down_exps.weight", true},
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "model.layers.12.mlp..." -> 12; -1 if the name is not a layer tensor.
int64_t layer_of(const std::string& name) {
    static const std::string prefix = "model.layers.";
    if (name.compare(0, prefix.size(), prefix) != 0) return -1;
    const char* p = name.c_str() + prefix.size();
    char* end = nullptr;
    const long long v = std::strtoll(p, &end, 10);
    if (end == p || *end != '.') return -1;
    return v;
}

std::string join_first(const std::vector<std::string>& names, size_t max_shown) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < max_shown; ++i) out += "\n  " + names[i];
    if (names.size() > max_shown) out += strfmt("\n  ... and %zu more", names.size() - max_shown);
    return out;
}

PlannedTensor planned(std::string name, std::vector<int64_t> shape, const HfSource& src,
                      bool keep_f32 = false) {
    PlannedTensor t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    t.keep_f32 = keep_f32;
    t.sources = {src};
    return t;
}

std::array<float, 256> make_fp8_table() {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = fp8_e4m3_to_f32(static_cast<uint8_t>(i));
    return t;
}

// Builds the plan; one instance per conversion.
class Planner {
  public:
    Planner(const HfConfig& c, const safetensors::Checkpoint& ck, MlaLayout layout)
        : c_(c), ck_(ck), layout_(layout) {}

    ConvertPlan build(bool keep_mtp);

  private:
    std::string describe() const { return ck_.dir(); }
    // The checked source for an HF tensor, or nullopt (recorded as missing unless optional).
    std::optional<HfSource> source(const std::string& hf, const std::vector<int64_t>& shape, bool optional);
    void add_rules(const Rule* rules, size_t n, int64_t layer);
    template <size_t N>
    void add_rules(const Rule (&rules)[N], int64_t layer) {
        add_rules(rules, N, layer);
    }
    void add_tensor(PlannedTensor t) { plan_.tensors.push_back(std::move(t)); }
    void add_deepseek_layer(int64_t layer);
    void add_kv_b(int64_t layer);
    void add_experts(int64_t layer);
    void add_llama3_rope_freqs();
    std::vector<int64_t> mtp_layers_present() const;

    const HfConfig& c_;
    const safetensors::Checkpoint& ck_;
    MlaLayout layout_;
    ConvertPlan plan_;
    std::set<std::string, std::less<>> claimed_;
    std::vector<std::string> missing_;
};

std::optional<HfSource> Planner::source(const std::string& hf, const std::vector<int64_t>& shape,
                                        bool optional) {
    const TensorRef* w = ck_.find_tensor(hf);
    if (!w) {
        if (!optional) missing_.push_back(hf + " " + shape_str(shape));
        return std::nullopt;
    }
    claimed_.insert(hf);
    const std::string file = ck_.shard_of(w).path();
    if (w->shape != shape)
        fail("%s: tensor '%s' has shape %s, expected %s from %s", file.c_str(), hf.c_str(),
             shape_str(w->shape).c_str(), shape_str(shape).c_str(), c_.path.c_str());
    HfSource s;
    s.weight = w;
    s.block_rows = c_.fp8_block_rows;
    s.block_cols = c_.fp8_block_cols;
    const std::string scale_name = hf + "_scale_inv";
    const TensorRef* scale = ck_.find_tensor(scale_name);
    switch (w->type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
            if (scale)
                fail("%s: '%s' is %s but has a block scale '%s' (scales belong to F8_E4M3 weights)",
                     file.c_str(), hf.c_str(), dtype_name(w->type), scale_name.c_str());
            return s;
        case DType::F8_E4M3:
            break;
        default:
            fail("%s: tensor '%s' has dtype %s; supported: F32, F16, BF16, F8_E4M3 (with a _scale_inv)",
                 file.c_str(), hf.c_str(), dtype_name(w->type));
    }
    if (w->shape.size() != 2)
        fail("%s: '%s' is F8_E4M3 with shape %s; FP8 block scaling applies to matrices only", file.c_str(),
             hf.c_str(), shape_str(w->shape).c_str());
    if (!scale)
        fail("%s: '%s' is F8_E4M3 but its block scale '%s' is missing", file.c_str(), hf.c_str(),
             scale_name.c_str());
    const std::vector<int64_t> want = {(shape[0] + s.block_rows - 1) / s.block_rows,
                                       (shape[1] + s.block_cols - 1) / s.block_cols};
    if (scale->shape != want)
        fail("%s: block scale '%s' has shape %s, expected %s (ceil(%s / [%lld, %lld]))",
             ck_.shard_of(scale).path().c_str(), scale_name.c_str(), shape_str(scale->shape).c_str(),
             shape_str(want).c_str(), shape_str(shape).c_str(), static_cast<long long>(s.block_rows),
             static_cast<long long>(s.block_cols));
    if (scale->type != DType::F32 && scale->type != DType::BF16 && scale->type != DType::F16)
        fail("%s: block scale '%s' has dtype %s (expected F32, BF16 or F16)",
             ck_.shard_of(scale).path().c_str(), scale_name.c_str(), dtype_name(scale->type));
    claimed_.insert(scale_name);
    s.scale_inv = scale;
    plan_.fp8 = true;
    return s;
}

void Planner::add_rules(const Rule* rules, size_t n, int64_t layer) {
    const std::string hf_prefix = layer >= 0 ? "model.layers." + std::to_string(layer) + "." : "";
    const std::string gguf_prefix = layer >= 0 ? "blk." + std::to_string(layer) + "." : "";
    for (size_t i = 0; i < n; ++i) {
        const Rule& r = rules[i];
        std::vector<int64_t> shape = {dim_value(r.d0, c_)};
        if (r.ndim == 2) shape.push_back(dim_value(r.d1, c_));
        auto src = source(hf_prefix + r.hf, shape, r.optional);
        if (!src) continue;
        PlannedTensor t = planned(gguf_prefix + r.gguf, shape, *src, r.f32);
        if (r.perm != Perm::None && c_.family == HfFamily::Llama) {
            t.op = TensorOp::PermuteQK;
            t.n_head = r.perm == Perm::Q ? c_.num_attention_heads : c_.num_key_value_heads;
        }
        add_tensor(std::move(t));
    }
}

void Planner::add_kv_b(int64_t layer) {
    const int64_t H = c_.num_attention_heads, nope = c_.qk_nope_head_dim, v = c_.v_head_dim,
                  kvl = c_.kv_lora_rank;
    const std::string hf = "model.layers." + std::to_string(layer) + ".self_attn.kv_b_proj.weight";
    auto src = source(hf, {H * (nope + v), kvl}, false);
    if (!src) return;
    const std::string p = "blk." + std::to_string(layer) + ".";
    if (layout_ == MlaLayout::Legacy) {
        add_tensor(planned(p + "attn_kv_b.weight", {H * (nope + v), kvl}, *src));
        return;
    }
    PlannedTensor k_b = planned(p + "attn_k_b.weight", {H, kvl, nope}, *src);
    k_b.op = TensorOp::KvbKTransposed;
    PlannedTensor v_b = planned(p + "attn_v_b.weight", {H, v, kvl}, *src);
    v_b.op = TensorOp::KvbV;
    for (PlannedTensor* t : {&k_b, &v_b}) {
        t->n_head = H;
        t->nope = nope;
        t->v_dim = v;
        add_tensor(std::move(*t));
    }
}

void Planner::add_experts(int64_t layer) {
    const int64_t E = *c_.n_routed_experts, F = c_.moe_intermediate_size, D = c_.hidden_size;
    const std::string prefix = "model.layers." + std::to_string(layer) + ".mlp.experts.";
    for (const ExpertRule& r : kDsExperts) {
        const std::vector<int64_t> one = r.down ? std::vector<int64_t>{D, F} : std::vector<int64_t>{F, D};
        PlannedTensor t;
        t.name = "blk." + std::to_string(layer) + "." + r.gguf;
        t.shape = {E, one[0], one[1]};
        t.op = TensorOp::StackExperts;
        bool complete = true;
        for (int64_t e = 0; e < E; ++e) {
            auto src = source(prefix + std::to_string(e) + "." + r.hf, one, false);
            if (src)
                t.sources.push_back(*src);
            else
                complete = false;
        }
        if (complete) add_tensor(std::move(t));
    }
}

void Planner::add_deepseek_layer(int64_t layer) {
    add_rules(kDsAttention, layer);
    if (c_.q_lora_rank > 0)
        add_rules(kDsQLora, layer);
    else
        add_rules(kDsQPlain, layer);
    add_kv_b(layer);
    if (c_.is_moe_layer(layer)) {
        add_rules(kDsRouter, layer);
        if (c_.topk_method == "noaux_tc" && !plan_.tensors.empty() &&
            plan_.tensors.back().name.find("exp_probs_b") == std::string::npos)
            plan_.notes.push_back(
                strfmt("warning: layer %lld has no e_score_correction_bias although topk_method "
                       "is noaux_tc: experts will be selected without it",
                       static_cast<long long>(layer)));
        add_experts(layer);
        if (c_.n_shared_experts > 0) add_rules(kDsShared, layer);
    } else {
        add_rules(kDsDenseFfn, layer);
    }
}

// llama3 scaling is not a GGUF key: the converter bakes it into `rope_freqs` (frequency divisors), computed
// like convert_hf_to_gguf.py LlamaModel.generate_extra_tensors (in float32).
void Planner::add_llama3_rope_freqs() {
    const HfRopeScaling& rs = c_.rope_scaling;
    const int64_t dim = c_.head_dim;
    const float base = static_cast<float>(c_.rope_theta);
    const float factor = static_cast<float>(rs.factor), low = static_cast<float>(rs.low_freq_factor),
                high = static_cast<float>(rs.high_freq_factor),
                old_ctx = static_cast<float>(rs.original_context);
    const float low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
    PlannedTensor t;
    t.name = "rope_freqs.weight";
    t.shape = {dim / 2};
    t.keep_f32 = true;
    t.op = TensorOp::Generated;
    for (int64_t i = 0; i < dim; i += 2) {
        const float freq = 1.0f / std::pow(base, static_cast<float>(i) / static_cast<float>(dim));
        const float wavelen = 2.0f * 3.14159265358979323846f / freq;
        float f;
        if (wavelen < high_wavelen)
            f = 1.0f;
        else if (wavelen > low_wavelen)
            f = factor;
        else {
            const float smooth = (old_ctx / wavelen - low) / (high - low);
            f = 1.0f / ((1.0f - smooth) / factor + smooth);
        }
        t.generated.push_back(f);
    }
    add_tensor(std::move(t));
}

std::vector<int64_t> Planner::mtp_layers_present() const {
    std::set<int64_t> ids;
    for (const TensorRef* t : ck_.tensors()) {
        const int64_t l = layer_of(t->name);
        if (l >= c_.num_hidden_layers) ids.insert(l);
    }
    return {ids.begin(), ids.end()};
}

ConvertPlan Planner::build(bool keep_mtp) {
    const int64_t n_layer = c_.num_hidden_layers;
    plan_.n_layer = n_layer;

    // MTP layers: only DeepSeek has them, numbered right after the main layers.
    std::vector<int64_t> mtp = c_.is_deepseek() ? mtp_layers_present() : std::vector<int64_t>{};
    for (size_t k = 0; k < mtp.size(); ++k) {
        if (mtp[k] != n_layer + static_cast<int64_t>(k) || mtp[k] >= n_layer + c_.num_nextn_predict_layers)
            fail(
                "%s: found tensors of layer model.layers.%lld, but %s declares num_hidden_layers = %lld and "
                "num_nextn_predict_layers = %lld (MTP layers must follow the main layers)",
                describe().c_str(), static_cast<long long>(mtp[k]), c_.path.c_str(),
                static_cast<long long>(n_layer), static_cast<long long>(c_.num_nextn_predict_layers));
    }
    if (c_.is_deepseek() && mtp.empty() && c_.num_nextn_predict_layers > 0)
        plan_.notes.push_back(
            strfmt("config declares %lld MTP layer(s) but the checkpoint has none; none written",
                   static_cast<long long>(c_.num_nextn_predict_layers)));
    const int64_t n_mtp = keep_mtp ? static_cast<int64_t>(mtp.size()) : 0;
    plan_.n_mtp_layers = n_mtp;

    {
        std::vector<int64_t> embd = {c_.vocab_size, c_.hidden_size};
        if (auto s = source("model.embed_tokens.weight", embd, false))
            add_tensor(planned("token_embd.weight", embd, *s));
    }
    for (int64_t l = 0; l < n_layer + n_mtp; ++l) {
        if (c_.is_deepseek()) {
            add_deepseek_layer(l);
            if (l >= n_layer) add_rules(kDsMtp, l);
            continue;
        }
        add_rules(kDenseLayer, l);
        if (c_.family == HfFamily::Qwen2 || c_.attention_bias) add_rules(kQkvBias, l);
        if (c_.family == HfFamily::Llama && c_.attention_bias) add_rules(kOutBias, l);
    }
    if (auto s = source("model.norm.weight", {c_.hidden_size}, false))
        add_tensor(planned("output_norm.weight", {c_.hidden_size}, *s, /*keep_f32=*/true));
    if (!c_.tie_word_embeddings) {
        std::vector<int64_t> out = {c_.vocab_size, c_.hidden_size};
        if (auto s = source("lm_head.weight", out, false)) {
            add_tensor(planned("output.weight", out, *s));
            plan_.has_output = true;
        }
    }
    if (c_.family == HfFamily::Llama && c_.rope_scaling.type == "llama3") add_llama3_rope_freqs();

    if (!missing_.empty())
        fail("%s: %zu tensor(s) that %s implies are missing:%s", describe().c_str(), missing_.size(),
             c_.path.c_str(), join_first(missing_, 12).c_str());

    // Everything in the checkpoint must be used or deliberately skipped.
    std::vector<std::string> unknown;
    int64_t dropped_mtp = 0, skipped_inv_freq = 0;
    for (const TensorRef* t : ck_.tensors()) {
        if (claimed_.count(t->name)) continue;
        if (ends_with(t->name, ".rotary_emb.inv_freq")) {
            skipped_inv_freq++;
        } else if (t->name == "lm_head.weight" && c_.tie_word_embeddings) {
            plan_.notes.push_back(
                "lm_head.weight not written: tie_word_embeddings is true (the output reuses "
                "token_embd)");
        } else if (!keep_mtp && c_.is_deepseek() && layer_of(t->name) >= n_layer) {
            dropped_mtp++;
        } else {
            unknown.push_back(t->name + " " + shape_str(t->shape) + " " + dtype_name(t->type));
        }
    }
    if (!unknown.empty())
        fail(
            "%s: %zu tensor(s) not recognised for model_type %s (r1 convert writes every tensor it knows and "
            "refuses to drop others silently):%s",
            describe().c_str(), unknown.size(), c_.model_type.c_str(), join_first(unknown, 12).c_str());
    if (skipped_inv_freq)
        plan_.notes.push_back(
            strfmt("%lld rotary_emb.inv_freq buffer(s) not written (recomputed from rope_theta)",
                   static_cast<long long>(skipped_inv_freq)));
    if (dropped_mtp)
        plan_.notes.push_back(strfmt("MTP layer tensors dropped on request (--no-mtp): %lld",
                                     static_cast<long long>(dropped_mtp)));
    return std::move(plan_);
}

// Maps an output row of a llama q/k projection to its HF row (see TensorOp::PermuteQK).
int64_t unpermuted_row(int64_t row, int64_t n_rows, int64_t n_head) {
    const int64_t hd = n_rows / n_head;
    const int64_t h = row / hd, k = row % hd;
    return h * hd + (k % 2) * (hd / 2) + k / 2;
}

}  // namespace

int64_t PlannedTensor::rows() const {
    int64_t n = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) n *= shape[i];
    return n;
}

ConvertPlan plan_conversion(const HfConfig& config, const safetensors::Checkpoint& ckpt, MlaLayout layout,
                            bool keep_mtp) {
    return Planner(config, ckpt, layout).build(keep_mtp);
}

void read_source_rows(const HfSource& s, int64_t row0, int64_t n, float* dst) {
    const TensorRef& w = *s.weight;
    const int64_t cols = w.cols();
    const size_t stride = w.row_stride();
    R1_ASSERT(row0 >= 0 && row0 + n <= w.rows(), "rows [%lld, %lld) of '%s'", static_cast<long long>(row0),
              static_cast<long long>(row0 + n), w.name.c_str());
    if (w.type != DType::F8_E4M3) {
        for (int64_t r = 0; r < n; ++r)
            dequantize_row(w.type, w.data + static_cast<size_t>(row0 + r) * stride, dst + r * cols, cols);
        return;
    }
    static const std::array<float, 256> fp8 = make_fp8_table();
    const TensorRef& sc = *s.scale_inv;
    const int64_t scale_cols = sc.cols();
    std::vector<float> scale_row(static_cast<size_t>(scale_cols));
    int64_t loaded = -1;
    for (int64_t r = 0; r < n; ++r) {
        const int64_t row = row0 + r;
        if (row / s.block_rows != loaded) {
            loaded = row / s.block_rows;
            dequantize_row(sc.type, sc.data + static_cast<size_t>(loaded) * sc.row_stride(), scale_row.data(),
                           scale_cols);
        }
        const uint8_t* q = w.data + static_cast<size_t>(row) * stride;
        float* out = dst + r * cols;
        for (int64_t j = 0; j < cols; ++j)
            out[j] = fp8[q[j]] * scale_row[static_cast<size_t>(j / s.block_cols)];
    }
}

void read_planned_rows(const PlannedTensor& t, int64_t row0, int64_t n, float* dst) {
    const int64_t cols = t.cols();
    switch (t.op) {
        case TensorOp::Copy:
            read_source_rows(t.sources[0], row0, n, dst);
            return;
        case TensorOp::Generated:
            std::copy_n(t.generated.data() + row0 * cols, n * cols, dst);
            return;
        case TensorOp::PermuteQK: {
            if (t.shape.size() == 1) {  // a bias: permute the elements of the one row
                std::vector<float> v(static_cast<size_t>(cols));
                read_source_rows(t.sources[0], 0, 1, v.data());
                for (int64_t i = 0; i < cols; ++i)
                    dst[i] = v[static_cast<size_t>(unpermuted_row(i, cols, t.n_head))];
                return;
            }
            const int64_t rows = t.rows();
            for (int64_t r = 0; r < n; ++r)
                read_source_rows(t.sources[0], unpermuted_row(row0 + r, rows, t.n_head), 1, dst + r * cols);
            return;
        }
        case TensorOp::StackExperts: {
            const int64_t per_expert = t.shape[1];
            for (int64_t r = 0; r < n;) {
                const int64_t row = row0 + r, e = row / per_expert, in = row % per_expert;
                const int64_t run = std::min(per_expert - in, n - r);
                read_source_rows(t.sources[static_cast<size_t>(e)], in, run, dst + r * cols);
                r += run;
            }
            return;
        }
        case TensorOp::KvbV: {
            const int64_t per_head = t.v_dim, stride = t.nope + t.v_dim;
            for (int64_t r = 0; r < n;) {
                const int64_t row = row0 + r, h = row / per_head, j = row % per_head;
                const int64_t run = std::min(per_head - j, n - r);
                read_source_rows(t.sources[0], h * stride + t.nope + j, run, dst + r * cols);
                r += run;
            }
            return;
        }
        case TensorOp::KvbKTransposed: {
            // Output row (h, c) holds column c of the head's nope K rows: attn_k_b[h][c][k] =
            // kv_b[h*(nope+v)+k][c].
            const int64_t kvl = t.shape[1], nope = t.nope, stride = t.nope + t.v_dim;
            std::vector<float> block(static_cast<size_t>(nope * kvl));
            for (int64_t r = 0; r < n;) {
                const int64_t row = row0 + r, h = row / kvl, c0 = row % kvl;
                const int64_t run = std::min(kvl - c0, n - r);
                read_source_rows(t.sources[0], h * stride, nope, block.data());
                for (int64_t c = 0; c < run; ++c)
                    for (int64_t k = 0; k < nope; ++k)
                        dst[(r + c) * cols + k] = block[static_cast<size_t>(k * kvl + c0 + c)];
                r += run;
            }
            return;
        }
    }
}

}  // namespace r1
